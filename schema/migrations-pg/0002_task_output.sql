CREATE TABLE "task_output" (
	"task_id" text NOT NULL,
	"seq" integer NOT NULL,
	"stream" text NOT NULL,
	"data" text NOT NULL,
	"at" bigint NOT NULL,
	CONSTRAINT "task_output_task_id_seq_pk" PRIMARY KEY("task_id","seq")
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "output_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "output_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "task_output" ADD CONSTRAINT "task_output_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;
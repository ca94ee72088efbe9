CREATE TABLE "task_tags" (
	"task_id" text NOT NULL,
	"tenant" text NOT NULL,
	"tag" text NOT NULL,
	"seq" bigint NOT NULL,
	CONSTRAINT "task_tags_task_id_tag_pk" PRIMARY KEY("task_id","tag")
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "tags" text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE "task_tags" ADD CONSTRAINT "task_tags_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_tags_tenant_tag_seq_idx" ON "task_tags" USING btree ("tenant","tag","seq");--> statement-breakpoint
CREATE INDEX "task_tags_tag_seq_idx" ON "task_tags" USING btree ("tag","seq");
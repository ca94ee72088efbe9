CREATE TABLE "tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"tenant" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"progress" integer NOT NULL,
	"message" text,
	"input" text,
	"result" text,
	"error" text,
	"attempts" integer NOT NULL,
	"max_attempts" integer NOT NULL,
	"revision" integer NOT NULL,
	"idempotency_key" text,
	"worker_id" text,
	"lease_seconds" integer,
	"lease_expires_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"started_at" bigint,
	"completed_at" bigint
);
--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_seq_uq" ON "tasks" USING btree ("seq");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_idempotency_key_uq" ON "tasks" USING btree ("tenant","idempotency_key");--> statement-breakpoint
CREATE INDEX "tasks_claim_idx" ON "tasks" USING btree ("tenant","status","kind","seq");--> statement-breakpoint
CREATE INDEX "tasks_status_seq_idx" ON "tasks" USING btree ("tenant","status","seq");--> statement-breakpoint
CREATE INDEX "tasks_kind_seq_idx" ON "tasks" USING btree ("tenant","kind","seq");--> statement-breakpoint
CREATE INDEX "tasks_tenant_seq_idx" ON "tasks" USING btree ("tenant","seq");--> statement-breakpoint
CREATE INDEX "tasks_lease_idx" ON "tasks" USING btree ("lease_expires_at") WHERE "tasks"."status" = 'RUNNING';--> statement-breakpoint
CREATE INDEX "tasks_retention_idx" ON "tasks" USING btree ("completed_at") WHERE "tasks"."completed_at" IS NOT NULL;
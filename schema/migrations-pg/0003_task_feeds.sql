CREATE TABLE "task_feeds" (
	"tenant" text PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "feed_pos" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "tasks_feed_idx" ON "tasks" USING btree ("tenant","feed_pos");--> statement-breakpoint
-- Tasks stored before feeds enter them in creation order: 1, 2, 3 … per tenant.
UPDATE "tasks" SET "feed_pos" = "numbered"."position" FROM (SELECT "id", row_number() OVER (PARTITION BY "tenant" ORDER BY "seq") AS "position" FROM "tasks") AS "numbered" WHERE "tasks"."id" = "numbered"."id";--> statement-breakpoint
INSERT INTO "task_feeds" ("tenant", "position") SELECT "tenant", count(*) FROM "tasks" GROUP BY "tenant";

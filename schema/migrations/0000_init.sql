CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`progress` integer NOT NULL,
	`message` text,
	`input` text,
	`result` text,
	`error` text,
	`attempts` integer NOT NULL,
	`max_attempts` integer NOT NULL,
	`revision` integer NOT NULL,
	`idempotency_key` text,
	`worker_id` text,
	`lease_seconds` integer,
	`lease_expires_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`completed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_idempotency_key_uq` ON `tasks` (`tenant`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `tasks_claim_idx` ON `tasks` (`tenant`,`status`,`kind`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_status_created_idx` ON `tasks` (`tenant`,`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_kind_created_idx` ON `tasks` (`tenant`,`kind`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_created_idx` ON `tasks` (`tenant`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_lease_idx` ON `tasks` (`lease_expires_at`) WHERE "tasks"."status" = 'RUNNING';--> statement-breakpoint
CREATE INDEX `tasks_retention_idx` ON `tasks` (`completed_at`) WHERE "tasks"."completed_at" IS NOT NULL;
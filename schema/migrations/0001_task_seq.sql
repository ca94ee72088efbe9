DROP INDEX `tasks_status_created_idx`;--> statement-breakpoint
DROP INDEX `tasks_kind_created_idx`;--> statement-breakpoint
DROP INDEX `tasks_created_idx`;--> statement-breakpoint
DROP INDEX `tasks_claim_idx`;--> statement-breakpoint
-- SQLite adds a NOT NULL column only with a default; existing rows take their rowid (insertion order).
ALTER TABLE `tasks` ADD `seq` integer NOT NULL DEFAULT 0;--> statement-breakpoint
UPDATE `tasks` SET `seq` = rowid;--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_seq_uq` ON `tasks` (`seq`);--> statement-breakpoint
CREATE INDEX `tasks_status_seq_idx` ON `tasks` (`tenant`,`status`,`seq`);--> statement-breakpoint
CREATE INDEX `tasks_kind_seq_idx` ON `tasks` (`tenant`,`kind`,`seq`);--> statement-breakpoint
CREATE INDEX `tasks_tenant_seq_idx` ON `tasks` (`tenant`,`seq`);--> statement-breakpoint
CREATE INDEX `tasks_claim_idx` ON `tasks` (`tenant`,`status`,`kind`,`seq`);
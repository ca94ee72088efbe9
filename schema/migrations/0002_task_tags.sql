CREATE TABLE `task_tags` (
	`task_id` text NOT NULL,
	`tenant` text NOT NULL,
	`tag` text NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`task_id`, `tag`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `task_tags_tenant_tag_seq_idx` ON `task_tags` (`tenant`,`tag`,`seq`);--> statement-breakpoint
CREATE INDEX `task_tags_tag_seq_idx` ON `task_tags` (`tag`,`seq`);--> statement-breakpoint
ALTER TABLE `tasks` ADD `tags` text DEFAULT '[]' NOT NULL;
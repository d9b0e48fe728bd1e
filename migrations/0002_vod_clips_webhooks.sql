CREATE TABLE `clips` (
	`id` text PRIMARY KEY NOT NULL,
	`stream_id` text NOT NULL,
	`session_id` text NOT NULL,
	`status` text DEFAULT 'processing' NOT NULL,
	`title` text,
	`start_at` text NOT NULL,
	`duration_s` real NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`ready_at` text,
	FOREIGN KEY (`stream_id`) REFERENCES `streams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `clips_stream_idx` ON `clips` (`stream_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `vod_assets` (
	`id` text PRIMARY KEY NOT NULL,
	`stream_id` text NOT NULL,
	`session_id` text NOT NULL,
	`status` text DEFAULT 'processing' NOT NULL,
	`renditions` text DEFAULT '[]' NOT NULL,
	`duration_s` real DEFAULT 0 NOT NULL,
	`segment_count` integer DEFAULT 0 NOT NULL,
	`started_at` text,
	`ended_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`ready_at` text,
	FOREIGN KEY (`stream_id`) REFERENCES `streams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `vod_assets_stream_idx` ON `vod_assets` (`stream_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `vod_assets_session_idx` ON `vod_assets` (`session_id`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`url` text NOT NULL,
	`secret` text NOT NULL,
	`events` text DEFAULT '[]' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`disabled_at` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_user_idx` ON `webhook_endpoints` (`user_id`);
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`expires_at` text,
	`revoked_at` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_idx` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_user_idx` ON `api_tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `broadcast_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`stream_id` text NOT NULL,
	`node_id` text,
	`started_at` text NOT NULL,
	`ended_at` text,
	`end_reason` text,
	`vod_state` text DEFAULT 'none' NOT NULL,
	FOREIGN KEY (`stream_id`) REFERENCES `streams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `broadcast_sessions_stream_idx` ON `broadcast_sessions` (`stream_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `ingest_nodes` (
	`id` text PRIMARY KEY NOT NULL,
	`region` text NOT NULL,
	`rtmp_url` text NOT NULL,
	`last_heartbeat_at` text,
	`active_streams` integer DEFAULT 0 NOT NULL,
	`load` real DEFAULT 0 NOT NULL,
	`credential_hash` text,
	`credential_expires_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stream_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`stream_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`revoked_at` text,
	FOREIGN KEY (`stream_id`) REFERENCES `streams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stream_keys_hash_idx` ON `stream_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `stream_keys_stream_idx` ON `stream_keys` (`stream_id`);--> statement-breakpoint
CREATE TABLE `streams` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_user_id` text NOT NULL,
	`status` text DEFAULT 'offline' NOT NULL,
	`ingest_endpoint` text NOT NULL,
	`playback_manifest_url` text NOT NULL,
	`latency_mode` text DEFAULT 'low' NOT NULL,
	`started_at` text,
	`title` text NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`region` text NOT NULL,
	`record` integer DEFAULT true NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	FOREIGN KEY (`owner_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `streams_owner_created_idx` ON `streams` (`owner_user_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `streams_status_idx` ON `streams` (`status`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`email` text,
	`role` text DEFAULT 'user' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);

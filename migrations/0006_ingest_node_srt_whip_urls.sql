ALTER TABLE `ingest_nodes` ADD `srt_url` text;--> statement-breakpoint
ALTER TABLE `ingest_nodes` ADD `whip_url` text;
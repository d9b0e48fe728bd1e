ALTER TABLE `streams` ADD `media_generation` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Carry the generation over from where it was kept before (a field of settings), then drop that field.
UPDATE `streams` SET `media_generation` = coalesce(json_extract(`settings`, '$.media_generation'), 0), `settings` = json_remove(`settings`, '$.media_generation') WHERE json_extract(`settings`, '$.media_generation') IS NOT NULL;

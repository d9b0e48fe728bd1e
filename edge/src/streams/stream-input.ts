// Validation schemas for the control API's stream bodies and query strings.
import { z } from "zod";
import { ENCRYPTION_SETTINGS, type EncryptionSetting, MAX_KEY_ROTATION, MIN_KEY_ROTATION } from "../../../protocol/content-keys.ts";
import { LATENCY_MODES, MIN_PART_TARGET } from "../../../protocol/latency.ts";

/** Who may play a stream: anyone, or holders of a signed playback token. */
export const PLAYBACK_POLICIES = ["public", "signed"] as const;
/** A stream's playback policy. */
export type PlaybackPolicy = (typeof PLAYBACK_POLICIES)[number];

/** The largest dvr_window any configuration may allow (a day); DVR_MAX_WINDOW_SECONDS sets the edge's own cap. */
export const MAX_DVR_WINDOW_SECONDS = 86_400;

const title = z.string().trim().min(1, "must not be empty").max(200);
const tags = z
  .array(
    z
      .string()
      .trim()
      .min(1)
      .max(50)
      .regex(/^[^\s,]+$/, "must have no spaces or commas"),
  )
  .max(20);

/** Per-stream settings beyond the seed's data model. */
const settingsFields = {
  /** LL-HLS part duration in seconds for `interactive` streams. */
  part_target: z.number().min(MIN_PART_TARGET).max(2).optional(),
  /** Seconds a dropped publisher may take to reconnect to the same broadcast. */
  reconnect_window: z.number().int().min(0).max(1800).optional(),
  /** "signed": playback needs a token from `POST /streams/:id/playback-tokens`; "public" (the default): open. */
  playback_policy: z.enum(PLAYBACK_POLICIES).optional(),
  /** "aes-128": segments and parts are encrypted (HLS METHOD=AES-128) from the next broadcast on; "none" (default). */
  encryption: z.enum(ENCRYPTION_SETTINGS).optional(),
  /** Segments per content key of an encrypted stream (default 10). */
  key_rotation: z.number().int().min(MIN_KEY_ROTATION).max(MAX_KEY_ROTATION).optional(),
  /** Seconds of the broadcast the live playlists keep listing for rewinding (DVR); 0 (the default) is off. At most
   *  DVR_MAX_WINDOW_SECONDS (checked by the route, which knows the configuration). */
  dvr_window: z.number().int().min(0).max(MAX_DVR_WINDOW_SECONDS).optional(),
};

/** Body of `POST /streams`. */
export const CreateStreamSchema = z.strictObject({
  title,
  tags: tags.default([]),
  latency_mode: z.enum(LATENCY_MODES).default("low"),
  region: z.string().max(32).optional(),
  record: z.boolean().default(true),
  ...settingsFields,
});
/** A validated `POST /streams` body. */
export type CreateStreamInput = z.infer<typeof CreateStreamSchema>;

/** Body of `PATCH /streams/:id`: any subset of the create fields, at least one. */
export const UpdateStreamSchema = z
  .strictObject({
    title: title.optional(),
    tags: tags.optional(),
    latency_mode: z.enum(LATENCY_MODES).optional(),
    region: z.string().max(32).optional(),
    record: z.boolean().optional(),
    ...settingsFields,
  })
  .refine((body) => Object.keys(body).length > 0, { message: "name at least one field to change" });
/** A validated `PATCH /streams/:id` body. */
export type UpdateStreamInput = z.infer<typeof UpdateStreamSchema>;

/** Query string of `GET /streams`. */
export const ListStreamsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  status: z.enum(["live", "offline"]).optional(),
  tag: z.string().min(1).max(50).optional(),
});
/** A validated `GET /streams` query. */
export type ListStreamsQuery = z.infer<typeof ListStreamsQuerySchema>;

/** Per-stream settings stored as JSON in `streams.settings`. */
export interface StreamSettings {
  part_target?: number;
  reconnect_window?: number;
  playback_policy?: PlaybackPolicy;
  encryption?: EncryptionSetting;
  key_rotation?: number;
  dvr_window?: number;
}

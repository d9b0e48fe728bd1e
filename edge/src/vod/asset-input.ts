// Validation of clip requests.
import { z } from "zod";

/** Longest clip, in seconds. */
export const MAX_CLIP_SECONDS = 60;

/** Body of `POST /streams/:id/clips`: a start (offset from the broadcast's start, or a program-date-time) and a duration. */
export const CreateClipSchema = z
  .strictObject({
    /** Seconds from the start of the broadcast. */
    start_offset: z.number().min(0).optional(),
    /** Wall-clock capture time (program-date-time), ISO-8601. */
    start_time: z.iso.datetime({ offset: true }).optional(),
    duration: z.number().positive().max(MAX_CLIP_SECONDS),
    /** Clip from this VOD's broadcast instead of the current (or last) one. */
    vod_id: z.uuid().optional(),
    title: z.string().trim().min(1).max(200).optional(),
  })
  .refine((body) => (body.start_offset === undefined) !== (body.start_time === undefined), {
    message: "give exactly one of start_offset and start_time",
    path: ["start_offset"],
  });
/** A validated clip request. */
export type CreateClipInput = z.infer<typeof CreateClipSchema>;

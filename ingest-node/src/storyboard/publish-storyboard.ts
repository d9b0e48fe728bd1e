// Wires a publish's storyboard to the real parts: FFmpeg draws the sheets (batched across publishes), the sink sends them to the edge, and an
// answer that retrying cannot change (the edge's bound, a lost lease) stops the storyboard of that publish.
import type { MediaSink } from "../upload/media-sink.ts";
import { EdgeRejectedError, StreamFencedError } from "../upload/upload-errors.ts";
import type { Logger } from "../log.ts";
import { sharedSpriteSheetBatcher } from "./sprite-sheet.ts";
import { StoryboardRefusedError, StoryboardSheets } from "./storyboard-sheets.ts";

/** The storyboard of stream `streamId`'s publishes, or null when the sink cannot send sheets. */
export function publishStoryboard(
  sink: MediaSink,
  streamId: string,
  options: { ffmpegBinary: string; intervalS: number; log: Logger },
): StoryboardSheets | null {
  const put = sink.putStoryboardSheet?.bind(sink);
  if (!put) return null;
  return new StoryboardSheets({
    intervalS: options.intervalS,
    log: options.log,
    // Drawn with the other publishes' sheets that come due at the same time, in one FFmpeg run.
    compose: (tiles, grid) => sharedSpriteSheetBatcher(options.ffmpegBinary).compose(tiles, grid),
    upload: async (meta, jpeg) => {
      try {
        await put(streamId, meta, jpeg);
      } catch (error) {
        if (error instanceof EdgeRejectedError || error instanceof StreamFencedError) throw new StoryboardRefusedError(error.message);
        throw error;
      }
    },
  });
}

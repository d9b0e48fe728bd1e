// Wires a publish's storyboard to the real parts: the node's long-lived FFmpeg makes the tiles (shared by every
// publish), the sheets are assembled from the tiles' bytes, the sink sends them to the edge, and an answer that
// retrying cannot change (the edge's bound, a lost lease) stops the storyboard of that publish.
import type { MediaSink } from "../upload/media-sink.ts";
import { EdgeRejectedError, StreamFencedError } from "../upload/upload-errors.ts";
import type { Logger } from "../log.ts";
import { assembleTiles } from "./jpeg-sprite.ts";
import { StoryboardRefusedError, StoryboardSheets } from "./storyboard-sheets.ts";
import { nodeStoryboardTiler } from "./storyboard-tiler.ts";

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
    // Looked up per tile: a node closed in the same process (tests run several) takes its tiler with it.
    tile: (thumbnail) => nodeStoryboardTiler(options.ffmpegBinary).tile(thumbnail),
    compose: assembleTiles,
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

// The node's long-lived picture FFmpegs (keyframe thumbnails, storyboard tiles) are warmed once at start-up with one
// black 720p keyframe, made by a one-off FFmpeg run, and the thumbnail it gives. Why: an FFmpeg that has not decoded
// yet holds ~14 (thumbnails) and ~5 (tiles) MiB less than one that has (its code paged in, decoder, scaler and encoder
// set up, 720p frame buffers): without the warm-up the first publish's first thumbnail paid that set-up in time, and
// the memory, a fixed cost of the node, showed up with the first publishes as if it were theirs.
import { execFile } from "node:child_process";
import { ACCESS_UNIT_DELIMITER } from "../remux/annexb.ts";
import type { StoryboardTiler } from "../storyboard/storyboard-tiler.ts";
import type { KeyframeThumbnails } from "./keyframe-thumbnail.ts";

/** A black 1280x720 H.264 keyframe (Annex B, no B-frames, so nothing is held for reordering), from `binary`. */
function blackKeyframe(binary: string): Promise<Buffer> {
  const args = [
    ...["-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=black:s=1280x720:r=25", "-frames:v", "1"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-pix_fmt", "yuv420p", "-f", "h264", "pipe:1"],
  ];
  return new Promise((resolve, reject) => {
    execFile(binary, args, { encoding: "buffer", timeout: 10_000, maxBuffer: 1 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

/** Sends one picture through the thumbnail FFmpeg of the common size and its thumbnail through the tiler. */
export async function warmUpPictureFfmpegs(binary: string, thumbnails: KeyframeThumbnails, tiler: StoryboardTiler): Promise<void> {
  const keyframe = await blackKeyframe(binary);
  // The delimiter tells FFmpeg's parser the picture is whole (keyframeAnnexB ends every keyframe so).
  const thumbnail = await thumbnails.warmUp(Buffer.concat([keyframe, ACCESS_UNIT_DELIMITER]));
  await tiler.tile(thumbnail);
}

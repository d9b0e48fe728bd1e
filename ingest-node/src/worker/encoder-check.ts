// Whether this FFmpeg can run the worker's encoder here: a worker that cannot encode must not take jobs. Listed in
// `ffmpeg -encoders` is not enough (Debian's FFmpeg lists NVENC on machines without an NVIDIA GPU), so it encodes a
// few frames of a test picture.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Encoder } from "./encoder-args.ts";

const run = promisify(execFile);

/** Null when `encoder` encodes a test picture with this FFmpeg, else FFmpeg's last error line. */
export async function encoderProblem(binary: string, encoder: Encoder, vaapiDevice: string): Promise<string | null> {
  const device = encoder === "h264_vaapi" ? ["-vaapi_device", vaapiDevice] : [];
  const upload = encoder === "h264_vaapi" ? ["-vf", "format=nv12,hwupload"] : encoder === "h264_qsv" ? ["-vf", "format=nv12"] : [];
  const args = ["-hide_banner", "-loglevel", "error", ...device, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-frames:v", "3"];
  try {
    await run(binary, [...args, ...upload, "-c:v", encoder, "-f", "null", "-"], { timeout: 20_000 });
    return null;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim();
    return stderr.split("\n").filter(Boolean).at(-1) ?? "it failed";
  }
}

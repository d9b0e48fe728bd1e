// The long-lived JPEG pipe against the real FFmpeg: one JPEG per input, each as soon as its input is in; an input that
// makes no picture or two costs only its own request (the process is restarted, the next request still works); the
// queue is bounded; close() and a missing binary reject clearly.
import { afterEach, describe, expect, it } from "vitest";
import { JpegPipe, JpegPipeError } from "../../../../ingest-node/src/transcode/ffmpeg-jpeg-pipe.ts";
import { jpegDimensions } from "../../../../ingest-node/src/transcode/jpeg-splitter.ts";

/** Raw 32x16 grey frames in, one JPEG each out; the encoder single-threaded so each picture leaves at once. */
const ARGS = [
  ...["-nostdin", "-hide_banner", "-loglevel", "error", "-probesize", "32", "-analyzeduration", "0"],
  ...["-f", "rawvideo", "-pix_fmt", "gray", "-s", "32x16", "-i", "pipe:0"],
  ...["-fps_mode", "passthrough", "-c:v", "mjpeg", "-threads", "1", "-f", "image2pipe", "pipe:1"],
];
const FRAME_BYTES = 32 * 16;
const frame = (value: number) => new Uint8Array(FRAME_BYTES).fill(value);

const pipes: JpegPipe[] = [];
function pipe(options: Partial<ConstructorParameters<typeof JpegPipe>[0]> = {}): JpegPipe {
  const p = new JpegPipe({ binary: "ffmpeg", args: ARGS, what: "test picture", ...options });
  pipes.push(p);
  return p;
}

afterEach(() => {
  for (const p of pipes.splice(0)) p.close();
});

describe("JpegPipe", () => {
  it("makes one JPEG per input from one FFmpeg, each without waiting for the next input", async () => {
    const p = pipe();
    for (const value of [0, 128, 255]) {
      const jpeg = await p.convert(frame(value));
      expect(jpegDimensions(jpeg)).toEqual({ width: 32, height: 16 });
    }
    // An input split into parts is one item.
    const parts = await p.convert([frame(7).subarray(0, 100), frame(7).subarray(100)]);
    expect(jpegDimensions(parts)).toEqual({ width: 32, height: 16 });
    expect(p.starts).toBe(1);
    expect(p.converted).toBe(4);
  });

  it("queued requests are answered in order, each with its own picture", async () => {
    const p = pipe();
    const [dark, light] = await Promise.all([p.convert(frame(10)), p.convert(frame(240))]);
    // Different pictures: a mix-up would give both the same bytes or swap them; the lighter one compresses differently.
    expect(Buffer.compare(dark, light)).not.toBe(0);
    expect(await p.convert(frame(10))).toEqual(dark);
    expect(await p.convert(frame(240))).toEqual(light);
  });

  it("an input that makes no picture times out alone: FFmpeg is restarted and the next input gets its picture", async () => {
    const p = pipe({ timeoutMs: 1_000 });
    await p.convert(frame(1));
    // Half a frame: FFmpeg waits for the rest, so no picture comes.
    await expect(p.convert(frame(2).subarray(0, FRAME_BYTES / 2))).rejects.toThrow(/no picture within 1000 ms/);
    const jpeg = await p.convert(frame(3));
    expect(jpegDimensions(jpeg)).toEqual({ width: 32, height: 16 });
    expect(p.starts).toBe(2);
  });

  it("an input that makes two pictures gets the first; the extra one restarts FFmpeg before it can be given to another request", async () => {
    const p = pipe();
    const both = new Uint8Array(FRAME_BYTES * 2).fill(50);
    const first = await p.convert(both);
    expect(jpegDimensions(first)).toEqual({ width: 32, height: 16 });
    // The extra picture comes right after: the pipe kills that FFmpeg, and the next request starts a new one.
    await expect.poll(() => p.pid, { timeout: 5_000 }).toBeUndefined();
    const after = await p.convert(frame(200));
    expect(jpegDimensions(after)).toEqual({ width: 32, height: 16 });
    expect(Buffer.compare(after, first)).not.toBe(0);
    expect(p.starts).toBe(2);
  });

  it("refuses requests past its queue bound at once", async () => {
    const p = pipe({ maxQueued: 2 });
    const accepted = [p.convert(frame(1)), p.convert(frame(2)), p.convert(frame(3))];
    await expect(p.convert(frame(4))).rejects.toThrow(/2 pictures already wait/);
    await Promise.all(accepted);
  });

  it("close() rejects what waits; a missing binary rejects with a clear error", async () => {
    const p = pipe({ timeoutMs: 60_000 });
    const waiting = p.convert(frame(1).subarray(0, 10));
    p.close();
    await expect(waiting).rejects.toBeInstanceOf(JpegPipeError);
    await expect(p.convert(frame(1))).rejects.toThrow(/closed/);
    const missing = pipe({ binary: "/nonexistent/ffmpeg" });
    await expect(missing.convert(frame(1))).rejects.toThrow(/could not start \/nonexistent\/ffmpeg: ENOENT/);
  });

  it("start() runs FFmpeg before any request", async () => {
    const p = pipe();
    p.start();
    expect(p.pid).toBeGreaterThan(0);
    await p.convert(frame(9));
    expect(p.starts).toBe(1);
  });
});

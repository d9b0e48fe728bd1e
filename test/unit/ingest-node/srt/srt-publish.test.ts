import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FlvTagInfo } from "../../../../ingest-node/src/rtmp/flv-tag.ts";
import { SrtPublish, type SrtPublishOptions } from "../../../../ingest-node/src/srt/srt-publish.ts";

/** Two seconds of real MPEG-TS (1 s GOP) from FFmpeg with the given video encoder and AAC audio. */
function ts(videoArgs: string[]): Buffer {
  return execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine"],
    ...["-t", "2", ...videoArgs, "-g", "25", "-c:a", "aac", "-f", "mpegts", "-"],
  ]);
}

function publish(options: Partial<SrtPublishOptions> = {}): { source: SrtPublish; disconnects: () => number } {
  let disconnects = 0;
  const source = new SrtPublish("sk_test", "127.0.0.1:5000", {
    ffmpegBinary: "ffmpeg",
    x264Preset: "ultrafast",
    silenceTimeoutMs: 10_000,
    handshakeTimeoutMs: 10_000,
    maxBufferBytes: 8 * 1024 * 1024,
    disconnect: () => disconnects++,
    ...options,
  });
  source.markConnected();
  return { source, disconnects: () => disconnects };
}

/** Feeds `data` in SRT-sized messages (1316 bytes: 7 TS packets) and waits until the demuxer is done with it. */
async function feed(source: SrtPublish, data: Buffer, tags: { tag: Buffer; info: FlvTagInfo | null }[]): Promise<void> {
  for (let at = 0; at < data.length; at += 1316) source.push(data.subarray(at, at + 1316));
  const deadline = Date.now() + 10_000;
  // The demuxer writes its last tags when its input ends; until then, wait for two keyframes' worth of video.
  while (Date.now() < deadline && tags.filter((t) => t.info?.keyframe).length < 2) await new Promise((r) => setTimeout(r, 50));
}

describe("SrtPublish", () => {
  it("demuxes H.264/AAC MPEG-TS into the FLV tag feed an RTMP publisher gives, and knows the source", async () => {
    const { source } = publish();
    const tags: { tag: Buffer; info: FlvTagInfo | null }[] = [];
    source.attachFeed((tag, info) => tags.push({ tag, info }));
    await feed(source, ts(["-c:v", "libx264", "-preset", "ultrafast"]), tags);
    expect(await source.mediaFlowing).toBe(true);
    expect(tags[0]!.tag.subarray(0, 3).toString("latin1")).toBe("FLV");
    expect(tags[1]!.info?.kind).toBe("script");
    expect(tags.some((t) => t.info?.kind === "audio")).toBe(true);
    const info = source.source();
    expect(info).toMatchObject({ width: 320, height: 180, fps: 25, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 1 });
    expect(source.bytesIn).toBeGreaterThan(10_000);
    source.close("done");
    expect(await source.ended).toBe("done");
  }, 30_000);

  it("encodes H.265 (which FFmpeg 5.1 cannot put in FLV) to H.264 at the source's keyframes", async () => {
    const { source } = publish();
    const tags: { tag: Buffer; info: FlvTagInfo | null }[] = [];
    source.attachFeed((tag, info) => tags.push({ tag, info }));
    await feed(source, ts(["-c:v", "libx265", "-x265-params", "log-level=error"]), tags);
    expect(source.source()).toMatchObject({ videoCodec: "h264", width: 320, height: 180 });
    expect(source.source().keyframeInterval).toBe(1);
    source.close("done");
  }, 30_000);

  it("ends the publish (and disconnects the caller) once its demuxer falls behind by more than the bound", async () => {
    // A "demuxer" that never reads its input: what the caller sends piles up until the bound.
    const dir = mkdtempSync(join(tmpdir(), "srt-publish-"));
    const stuck = join(dir, "stuck-ffmpeg");
    writeFileSync(stuck, "#!/bin/sh\nexec sleep 30\n");
    chmodSync(stuck, 0o755);
    const { source, disconnects } = publish({ ffmpegBinary: stuck, maxBufferBytes: 1024 * 1024 });
    const data = ts(["-c:v", "libx264", "-preset", "ultrafast"]);
    for (let i = 0; i < 40 && source.active; i++) source.push(data);
    expect(source.active).toBe(false);
    expect(await source.ended).toMatch(/demuxer fell behind by more than 1048576 bytes/);
    expect(disconnects()).toBe(1);
  }, 30_000);

  it("ends a caller whose handshake never completes, and one that goes silent", async () => {
    const never = new SrtPublish("sk_test", "127.0.0.1:5000", {
      ffmpegBinary: "ffmpeg",
      x264Preset: "ultrafast",
      silenceTimeoutMs: 10_000,
      handshakeTimeoutMs: 300,
      maxBufferBytes: 1024,
      disconnect: () => {},
    });
    expect(await never.ended).toBe("the SRT handshake did not complete");
    expect(await never.mediaFlowing).toBe(false);
    const { source } = publish({ silenceTimeoutMs: 300 });
    expect(await source.ended).toBe("silent for 300 ms");
  });
});

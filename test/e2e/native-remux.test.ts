// A passthrough node (LADDER=passthrough) remuxes the publisher's FLV to CMAF in its own process: the `source`
// rendition plays back whole (every frame, continuous timestamps, A/V together) and no FFmpeg runs for the copy: the
// only FFmpeg children are the node's long-lived picture pipes (keyframe thumbnails, storyboard tiles), started with
// the node, not per publish. The same node with REMUX=ffmpeg keeps an FFmpeg reading the FLV feed for the whole
// publish (so the process check can fail).
import { execFile } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FFPROBE, firstVideoFrame, probeBytes } from "./ffprobe.ts";
import { eventually, startSystem, type SystemNode, type TestSystem } from "./harness.ts";
import { downloadSegments, readMaster, readMedia } from "./hls-reader.ts";

const run = promisify(execFile);
const FPS = 30;

interface StreamObject {
  stream_id: string;
  stream_key: string;
  playback_manifest_url: string;
}

/** An FFmpeg child of the node: when it was first and last seen, and its arguments. */
interface ChildSighting {
  pid: number;
  firstMs: number;
  lastMs: number;
  args: string[];
}

/** The FFmpeg reads the publisher's FLV feed (a copy or encode process; the picture pipes read H.264 or JPEGs). */
const readsFlv = (child: ChildSighting) => child.args.some((arg, i) => arg === "flv" && child.args[i - 1] === "-f" && child.args[i + 1] === "-i");
/** The FFmpeg is the node's keyframe thumbnail decoder (raw H.264 in). */
const decodesKeyframes = (child: ChildSighting) => child.args.some((arg, i) => arg === "h264" && child.args[i - 1] === "-f");

let system: TestSystem;

beforeAll(async () => {
  // Thumbnails every 2 s, so a 12 s publish decodes several keyframes.
  system = await startSystem({ nodes: [{ region: "local", env: { LADDER: "passthrough", THUMBNAIL_INTERVAL_S: "2" } }] });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

/** Polls /proc every 50 ms for FFmpeg processes whose parent is `pid`, until stop() is called. */
function watchFfmpegChildren(pid: number): { stop: () => ChildSighting[] } {
  const seen = new Map<number, ChildSighting>();
  let running = true;
  const poll = async () => {
    while (running) {
      const now = Date.now();
      for (const entry of await readdir("/proc").catch(() => [] as string[])) {
        if (!/^\d+$/.test(entry)) continue;
        const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
        // comm is in parentheses and may hold spaces: the fields after the last ')' are state, ppid, ...
        const close = stat.lastIndexOf(")");
        const comm = stat.slice(stat.indexOf("(") + 1, close);
        const ppid = Number(stat.slice(close + 2).split(" ")[1]);
        if (ppid !== pid || comm !== "ffmpeg") continue;
        const args = seen.get(Number(entry))?.args ?? (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
        const sighting = seen.get(Number(entry)) ?? { pid: Number(entry), firstMs: now, lastMs: now, args };
        sighting.lastMs = now;
        seen.set(Number(entry), sighting);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const done = poll();
  return {
    stop: () => {
      running = false;
      void done;
      return [...seen.values()];
    },
  };
}

async function createStream(title: string): Promise<StreamObject> {
  const { status, body } = await system.api<StreamObject>("POST", "/streams", { title, latency_mode: "low" });
  expect(status).toBe(201);
  return body;
}

/** Publishes `durationS` of the test pattern to `node`, watching its FFmpeg children meanwhile. */
async function publishWatched(node: SystemNode, stream: StreamObject, durationS: number): Promise<ChildSighting[]> {
  const watcher = watchFfmpegChildren(node.dev.process.child.pid!);
  const publisher = system.publish(`${node.rtmpUrl}/${stream.stream_key}`, { durationS });
  const code = await publisher.exited;
  expect(code, publisher.stderr.slice(-3).join(" | ")).toBe(0);
  await eventually("the edge to see the publisher gone", 20_000, async () => {
    const { body } = await system.api<{ health: { ingest_connected: boolean } }>("GET", `/streams/${stream.stream_id}/status`);
    return body.health.ingest_connected ? undefined : true;
  });
  return watcher.stop();
}

interface Packet {
  dts: number;
  pts: number;
  key: boolean;
}

async function packets(file: string, stream: string): Promise<Packet[]> {
  const { stdout } = await run(FFPROBE, ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,dts_time,flags", "-of", "json", file], {
    maxBuffer: 64 << 20,
  });
  return (JSON.parse(stdout).packets as Record<string, string>[]).map((p) => ({
    dts: Number(p.dts_time),
    pts: Number(p.pts_time),
    key: p.flags!.startsWith("K"),
  }));
}

describe("native remux on a passthrough node (REMUX=native, the default)", () => {
  it("plays the source rendition back whole, with no FFmpeg copy process: only the node's long-lived thumbnail decoder", async () => {
    const node = system.nodes[0]!;
    const stream = await createStream("e2e native remux");
    const durationS = 12;
    const children = await publishWatched(node, stream, durationS);

    const remuxLine = node.lines.find((line) => line.includes("remuxing in the node"));
    expect(remuxLine, "the node says it remuxes in-process").toBeDefined();
    expect(
      node.lines.some((line) => /ffmpeg started/.test(line)),
      "no FFmpeg was started for the copy",
    ).toBe(false);
    // Thumbnails: one FFmpeg the node started before the publish decodes every keyframe; nothing reads the feed.
    expect(children.filter(readsFlv), "an FFmpeg read the FLV feed").toEqual([]);
    const decoders = children.filter(decodesKeyframes);
    expect(decoders, "one keyframe decoder for the whole publish").toHaveLength(1);
    expect(decoders[0]!.lastMs - decoders[0]!.firstMs).toBeGreaterThan((durationS - 2) * 1000);
    const thumbnail = await fetch(system.url(`/live/${stream.stream_id}/thumbnail.jpg`));
    expect(thumbnail.status).toBe(200);
    expect([...new Uint8Array(await thumbnail.arrayBuffer()).subarray(0, 2)]).toEqual([0xff, 0xd8]);

    const master = await readMaster(stream.playback_manifest_url);
    expect(master!.variants).toHaveLength(1);
    const variant = master!.variants[0]!;
    expect(variant.resolution).toEqual({ width: 640, height: 360 });
    expect(variant.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/i);
    const downloads = await downloadSegments(await readMedia(variant.url));
    expect(downloads.length).toBeGreaterThanOrEqual(5);
    for (const { segment, init, bytes } of downloads) {
      const probe = await probeBytes([init, bytes]);
      expect(probe.stderr, `ffprobe errors on msn ${segment.msn}`).toBe("");
      expect(firstVideoFrame(probe)?.keyframe, `msn ${segment.msn} starts with a keyframe`).toBe(true);
      expect(segment.duration).toBeLessThanOrEqual(2.05);
    }
    // The whole broadcast as one file: every frame the publisher sent, timestamps continuous, audio beside video.
    const file = join(system.dir, "native-source.mp4");
    await writeFile(file, Buffer.concat([downloads[0]!.init, ...downloads.map((d) => d.bytes)]));
    const video = await packets(file, "v:0");
    const audio = await packets(file, "a:0");
    expect(video).toHaveLength(durationS * FPS);
    for (let i = 1; i < video.length; i++) {
      const step = video[i]!.dts - video[i - 1]!.dts;
      expect(step, `video dts step at frame ${i}`).toBeGreaterThan(0);
      expect(step, `video dts step at frame ${i}`).toBeLessThan(1.5 / FPS);
    }
    for (let i = 1; i < audio.length; i++) expect(audio[i]!.dts - audio[i - 1]!.dts).toBeCloseTo(1024 / 48000, 3);
    expect(Math.abs(audio[0]!.pts - video[0]!.pts)).toBeLessThan(1 / FPS);
    expect(Math.abs(audio.at(-1)!.pts - video.at(-1)!.pts)).toBeLessThan(0.1);
    await rm(file, { force: true });
    console.log(
      `[native-remux] ${downloads.length} segments, ${video.length} frames, ${audio.length} audio frames; ` +
        `ffmpeg children: ${children.map((c) => `${c.lastMs - c.firstMs}ms${decodesKeyframes(c) ? " (thumbnails)" : ""}`).join(", ")}`,
    );
  }, 90_000);

  it("REMUX=ffmpeg keeps one FFmpeg copy process for the whole publish (what native removes)", async () => {
    const node = await system.addNode({ region: "local", nodeId: "local-ffmpeg-copy", env: { LADDER: "passthrough", REMUX: "ffmpeg" } });
    const stream = await createStream("e2e ffmpeg remux");
    const children = await publishWatched(node, stream, 10);
    expect(node.lines.some((line) => /ffmpeg started/.test(line))).toBe(true);
    // It starts once the keyframe interval is known (about 2 s in) and runs until the publisher leaves.
    expect(Math.max(...children.filter(readsFlv).map((c) => c.lastMs - c.firstMs))).toBeGreaterThan(6_000);
  }, 90_000);
});

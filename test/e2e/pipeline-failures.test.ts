// A publish whose FFmpeg dies or hangs: the node restarts the pipeline once (a discontinuity under a new epoch), then
// ends the publish; a hung FFmpeg's input stops at PIPELINE_MAX_BUFFER_MB; the stream status says which.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  ingest_endpoint: string;
}

interface Status {
  status: string;
  health: { ingest_connected: boolean; epoch: number | null; fps: number | null; pipeline: string | null };
}

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ nodeEnv: { PIPELINE_MAX_BUFFER_MB: "1" } });
});

afterAll(async () => {
  await system?.stop();
});

async function createStream(title: string): Promise<Stream> {
  const { status, body } = await system.api<Stream>("POST", "/streams", { title, latency_mode: "low" });
  expect(status, JSON.stringify(body)).toBe(201);
  return body;
}

async function streamStatus(id: string): Promise<Status> {
  return (await system.api<Status>("GET", `/streams/${id}/status`)).body;
}

/** The first rendition's media playlist (empty before the broadcast has one). */
async function mediaPlaylist(streamId: string): Promise<string> {
  const master = await fetch(system.url(`/live/${streamId}/master.m3u8`));
  if (master.status !== 200) return "";
  const first = (await master.text()).split("\n").find((line) => line.endsWith("index.m3u8"));
  return (await fetch(system.url(`/live/${streamId}/${first}`))).text();
}

const segmentCount = (playlist: string) => playlist.split("\n").filter((line) => line.startsWith("#EXTINF")).length;

/** Pids of the FFmpeg processes the node started for `epoch`, from its log (`ffmpeg started pid=… epoch=…`). */
function ffmpegPid(streamId: string, epoch: number): number | undefined {
  const tag = streamId.slice(0, 8);
  const line = system.node.lines.find((l) => l.includes(tag) && l.includes("ffmpeg started") && new RegExp(`epoch=${epoch}\\b`).test(l));
  const match = line ? /pid=(\d+)/.exec(line) : null;
  return match ? Number(match[1]) : undefined;
}

const running = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readStatus(pid));

function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return "";
  }
}

describe("pipeline failures", () => {
  it("restarts a killed FFmpeg once under a new epoch with a discontinuity, then ends the publish when it dies again", async () => {
    const stream = await createStream("pipeline: ffmpeg killed");
    const publisher = system.publish(stream.ingest_endpoint);
    await eventually("the first segments", 20_000, async () => (segmentCount(await mediaPlaylist(stream.stream_id)) >= 2 ? true : undefined));
    const before = await streamStatus(stream.stream_id);
    expect(before.health.pipeline).toBe("ok");
    const firstEpoch = before.health.epoch!;
    const firstPid = ffmpegPid(stream.stream_id, firstEpoch);
    expect(firstPid).toBeGreaterThan(0);

    process.kill(firstPid!, "SIGKILL");
    const restarted = await eventually("the pipeline to restart under a new epoch", 20_000, async () => {
      const status = await streamStatus(stream.stream_id);
      return status.health.pipeline === "restarted" && status.health.epoch! > firstEpoch && (status.health.fps ?? 0) > 0 ? status : undefined;
    });
    expect(restarted.health.ingest_connected).toBe(true);
    // The new epoch's media follows a discontinuity, and keeps coming; the publisher never noticed.
    const playlist = await eventually("media of the new epoch", 20_000, async () => {
      const text = await mediaPlaylist(stream.stream_id);
      const after = text.split("#EXT-X-DISCONTINUITY\n")[1];
      return after !== undefined && segmentCount(after) >= 2 ? text : undefined;
    });
    expect(playlist).toContain("#EXT-X-DISCONTINUITY");
    expect(publisher.child.exitCode).toBeNull();

    // A second death is one too many: the publish ends, the publisher is disconnected, the status says so.
    const secondPid = ffmpegPid(stream.stream_id, restarted.health.epoch!);
    expect(secondPid).toBeGreaterThan(0);
    expect(secondPid).not.toBe(firstPid);
    process.kill(secondPid!, "SIGKILL");
    const code = await Promise.race([publisher.exited, new Promise<string>((resolve) => setTimeout(() => resolve("still connected"), 20_000))]);
    expect(code).not.toBe("still connected");
    const failed = await eventually("the status to report the failure", 10_000, async () => {
      const status = await streamStatus(stream.stream_id);
      return status.health.pipeline === "failed" && !status.health.ingest_connected ? status : undefined;
    });
    // Not the dead FFmpeg's last figures.
    expect(failed.health.fps).toBe(0);
    expect(system.node.lines.some((l) => l.includes("ending the publish: the pipeline failed"))).toBe(true);
    const metrics = await (await fetch(`${system.nodes[0]!.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^ingest_pipeline_restarts_total 1$/m);
    expect(metrics).toMatch(/^ingest_pipeline_failures_total 1$/m);
  });

  it("ends the publish when a hung FFmpeg lets its input reach PIPELINE_MAX_BUFFER_MB, and leaves no FFmpeg behind", async () => {
    const stream = await createStream("pipeline: ffmpeg hung");
    // About 2 Mbit/s: the probe's first seconds fit in 1 MB, and a stopped FFmpeg lets it fill in about 4 s.
    const publisher = system.publish(stream.ingest_endpoint, { videoKbps: 2000 });
    await eventually("the first segments", 20_000, async () => (segmentCount(await mediaPlaylist(stream.stream_id)) >= 1 ? true : undefined));
    const { health } = await streamStatus(stream.stream_id);
    const pid = ffmpegPid(stream.stream_id, health.epoch!)!;
    expect(pid).toBeGreaterThan(0);

    process.kill(pid, "SIGSTOP");
    const code = await Promise.race([publisher.exited, new Promise<string>((resolve) => setTimeout(() => resolve("still connected"), 15_000))]);
    expect(code).not.toBe("still connected");
    expect(system.node.lines.some((l) => l.includes("FFmpeg fell behind the publisher") && l.includes("PIPELINE_MAX_BUFFER_MB"))).toBe(true);
    await eventually("the stopped FFmpeg to be gone", 10_000, async () => (running(pid) ? undefined : true));
    const status = await eventually("the status to report the failure", 10_000, async () => {
      const s = await streamStatus(stream.stream_id);
      return s.health.pipeline === "failed" && !s.health.ingest_connected ? s : undefined;
    });
    expect(status.health.fps).toBe(0);
  });

  it("restarts an FFmpeg that hangs while its input stays under the bound (no media out for 2 x 3 targets)", async () => {
    const stream = await createStream("pipeline: ffmpeg hung, slow publisher");
    // About 0.2 Mbit/s: 1 MB would take 40 s, so the stall watchdog (12 s at a 2 s target) is what notices.
    const publisher = system.publish(stream.ingest_endpoint, { videoKbps: 150 });
    await eventually("the first segments", 20_000, async () => (segmentCount(await mediaPlaylist(stream.stream_id)) >= 1 ? true : undefined));
    const { health } = await streamStatus(stream.stream_id);
    const pid = ffmpegPid(stream.stream_id, health.epoch!)!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGSTOP");
    const restarted = await eventually("the pipeline to restart", 30_000, async () => {
      const status = await streamStatus(stream.stream_id);
      return status.health.pipeline === "restarted" && status.health.epoch! > health.epoch! && (status.health.fps ?? 0) > 0 ? status : undefined;
    });
    expect(restarted.health.ingest_connected).toBe(true);
    expect(system.node.lines.some((l) => l.includes(stream.stream_id.slice(0, 8)) && /no media out of FFmpeg for \d+ s/.test(l))).toBe(true);
    expect(running(pid)).toBe(false);
    expect(publisher.child.exitCode).toBeNull();
  });

  it("falls back to encoding the source rendition when the publisher stops sending keyframes", async () => {
    const stream = await createStream("pipeline: keyframes stop");
    // Keyframes every 2 s (the source is copied), none from 6 s to 16 s, one at 16 s, then none.
    const keyframes = "expr:if(lt(t,7),gte(t,n_forced*2),eq(n_forced,4)*gte(t,16))";
    const publisher = spawn(
      "ffmpeg",
      [
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        "100000",
        "-x264-params",
        "scenecut=0",
        "-force_key_frames",
        keyframes,
        "-b:v",
        "700k",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "flv",
        stream.ingest_endpoint,
      ],
      { stdio: "ignore" },
    );
    publisher.on("error", () => undefined);
    try {
      const source = async () => {
        const master = await (await fetch(system.url(`/live/${stream.stream_id}/master.m3u8`))).text();
        const line = master.split("\n").find((l) => l.startsWith("source/") || l.includes("/source/"));
        return line ? (await fetch(system.url(`/live/${stream.stream_id}/${line}`))).text() : "";
      };
      await eventually("copied source segments", 20_000, async () => (segmentCount(await source()) >= 2 ? true : undefined));
      expect(system.node.lines.some((l) => l.includes(stream.stream_id.slice(0, 8)) && l.includes("renditions=source(copy)"))).toBe(true);

      // The copy cannot be cut past 3 targets without a keyframe: the node restarts with `source` encoded.
      const playlist = await eventually("encoded source segments after a discontinuity", 45_000, async () => {
        const after = (await source()).split("#EXT-X-DISCONTINUITY\n")[1];
        return after !== undefined && segmentCount(after) >= 3 ? after : undefined;
      });
      // Every segment of the new epoch is at most a target long: cut at the encoder's own keyframes.
      const durations = playlist
        .split("\n")
        .filter((l) => l.startsWith("#EXTINF:"))
        .map((l) => Number.parseFloat(l.slice(8)));
      expect(Math.max(...durations)).toBeLessThanOrEqual(2.1);
      const lines = system.node.lines.filter((l) => l.includes(stream.stream_id.slice(0, 8)));
      expect(lines.some((l) => l.includes("the publisher stopped sending keyframes"))).toBe(true);
      expect(lines.some((l) => /renditions=source,360p/.test(l))).toBe(true);
      const status = await streamStatus(stream.stream_id);
      expect(status.health).toMatchObject({ pipeline: "restarted", ingest_connected: true });
      expect(publisher.exitCode).toBeNull();
    } finally {
      publisher.kill("SIGKILL");
    }
  });
});

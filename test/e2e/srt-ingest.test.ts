// SRT ingest end to end: wrangler dev + the ingest node's SRT listener (libsrt) + two real SRT publishers on the same
// UDP port at once (FFmpeg's libsrt caller, and srt-live-transmit forwarding a TS file). Both go live and play; a
// wrong key and a second publisher for a live stream are rejected in the handshake with an SRT rejection reason;
// garbage datagrams on the port disturb nothing; a reconnect within the window continues with a discontinuity; with 5 %
// of the datagrams dropped both ways (a relay in this test), SRT's retransmission keeps the copied source clean.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { intOption, ipv4Address, loadLibsrt, SRT_REJECT, SRTO } from "../../ingest-node/src/srt/libsrt.ts";
import type { TestPublisher } from "../../scripts/lib/test-publisher.ts";
import { probeBytes } from "./ffprobe.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";
import { downloadSegments, type MediaPlaylist, readMaster, readMedia } from "./hls-reader.ts";

interface StreamObject {
  stream_id: string;
  stream_key: string;
  playback_manifest_url: string;
  srt_url: string | null;
}

interface StreamStatus {
  status: "live" | "offline";
  health: { ingest_connected: boolean; epoch: number | null };
}

let system: TestSystem;
let srtPort: number;
const keys: string[] = [];
/** srt-live-transmit's pipeline (a shell: ffmpeg -re paces the TS file into it); killed as a process group. */
let forwarder: ChildProcess | null = null;

async function createStream(title: string): Promise<StreamObject> {
  const { status, body } = await system.api<StreamObject>("POST", "/streams", { title, latency_mode: "low" });
  expect(status, JSON.stringify(body)).toBe(201);
  keys.push(body.stream_key);
  return body;
}

async function streamStatus(id: string): Promise<StreamStatus> {
  return (await system.api<StreamStatus>("GET", `/streams/${id}/status`)).body;
}

function srtUrl(key: string): string {
  return `srt://127.0.0.1:${srtPort}?streamid=${key}`;
}

/** The first variant's media playlist once it lists at least `segments` segments past `afterMsn`. */
function playlistPast(stream: StreamObject, afterMsn: number, segments: number, timeoutMs: number): Promise<MediaPlaylist> {
  return eventually(`${segments} new segments of ${stream.stream_id}`, timeoutMs, async () => {
    const master = await readMaster(stream.playback_manifest_url);
    const first = master?.variants[0];
    if (!first) return undefined;
    const media = await readMedia(first.url);
    return media.segments.filter((s) => s.msn > afterMsn).length >= segments ? media : undefined;
  });
}

function lastMsn(playlist: MediaPlaylist): number {
  return playlist.segments.at(-1)?.msn ?? -1;
}

/**
 * Connects to the node's SRT port as a caller with `streamId` (libsrt, blocking: at most its 3 s connect timeout)
 * and returns the rejection reason the listener sent, or 0 when the connection was accepted (then closed at once).
 */
function srtRejection(streamId: string): number {
  const caller = srtCaller(streamId);
  caller.close();
  return caller.rejection;
}

/** A libsrt caller connected (rejection 0) or rejected with `streamId`; close() ends it. */
function srtCaller(streamId: string): { rejection: number; close(): void } {
  const srt = loadLibsrt();
  srt.startup();
  const socket = srt.createSocket();
  const id = Buffer.from(streamId);
  srt.setFlag(socket, SRTO.STREAMID, id, id.length);
  srt.setFlag(socket, SRTO.LATENCY, intOption(120), 4);
  const connected = srt.connect(socket, ipv4Address("127.0.0.1", srtPort), 16) === 0;
  return { rejection: connected ? 0 : srt.rejectReason(socket), close: () => srt.close(socket) };
}

async function nodeMetric(name: string, label?: string): Promise<number> {
  const text = await (await fetch(`${system.nodes[0]!.opsUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name) && (label === undefined || l.includes(label)));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** A UDP relay to the node's SRT port that drops `loss` of the datagrams each way (one caller). */
async function lossyRelay(loss: number): Promise<{ port: number; stats: { forwarded: number; dropped: number }; close(): void }> {
  const front = createSocket("udp4");
  const back = createSocket("udp4");
  const stats = { forwarded: 0, dropped: 0 };
  let caller: { address: string; port: number } | null = null;
  const pass = (send: () => void) => {
    if (Math.random() < loss) stats.dropped++;
    else {
      stats.forwarded++;
      send();
    }
  };
  front.on("message", (message, from) => {
    caller = { address: from.address, port: from.port };
    pass(() => back.send(message, srtPort, "127.0.0.1"));
  });
  back.on("message", (message) => {
    const to = caller;
    if (to) pass(() => front.send(message, to.port, to.address));
  });
  await new Promise<void>((resolve) => front.bind(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => back.bind(0, "127.0.0.1", resolve));
  return {
    port: front.address().port,
    stats,
    close() {
      front.close();
      back.close();
    },
  };
}

function exitWithin(publisher: TestPublisher, ms: number): Promise<number | null | "running"> {
  return Promise.race([publisher.exited, new Promise<"running">((resolve) => setTimeout(() => resolve("running"), ms))]);
}

describe("SRT ingest against the real edge", () => {
  let first: StreamObject;
  let second: StreamObject;
  let firstPublisher: TestPublisher;

  beforeAll(async () => {
    // Three SRT callers at most: the two publishers and one more (the capacity test fills it).
    system = await startSystem({ nodeEnv: { PUBLISHER_TIMEOUT_MS: "2000", SRT_MAX_CONNECTIONS: "3" } });
    srtPort = system.nodes[0]!.srtPort;
  });

  afterEach(({ task }) => {
    if (task.result?.state === "fail" && system) console.log(`[node log, last 40 lines]\n${system.node.lines.slice(-40).join("\n")}`);
  });

  afterAll(async () => {
    if (forwarder?.pid) process.kill(-forwarder.pid, "SIGKILL");
    await system?.stop();
  });

  it("takes two publishers on one UDP port at once (ffmpeg and srt-live-transmit); both go live and play", async () => {
    [first, second] = [await createStream("srt ffmpeg"), await createStream("srt-live-transmit")];
    // The create answer names the node's SRT URL (from its heartbeat) with the key as streamid: ffmpeg takes it as is.
    expect(first.srt_url).toBe(srtUrl(first.stream_key));
    firstPublisher = system.publish(first.srt_url!, { format: "mpegts", fps: 25, size: "640x360" });

    // The second publisher forwards a TS file (H.264 + AAC), paced in real time, with Debian's srt-live-transmit.
    const file = join(system.dir, "forward.ts");
    execFileSync("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25", "-f", "lavfi", "-i", "sine=frequency=660"],
      ...["-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-sc_threshold", "0", "-c:a", "aac", "-f", "mpegts", file],
    ]);
    const pipeline = `ffmpeg -hide_banner -loglevel error -re -i '${file}' -c copy -f mpegts - | srt-live-transmit -a:no -q file://con '${srtUrl(second.stream_key)}'`;
    forwarder = spawn("bash", ["-c", pipeline], { detached: true, stdio: "ignore" });

    for (const stream of [first, second]) {
      const media = await playlistPast(stream, -1, 2, 45_000);
      const [segment] = await downloadSegments({ ...media, segments: media.segments.slice(-1) });
      const probe = await probeBytes([segment!.init, segment!.bytes]);
      expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(["aac", "h264"]);
      expect(probe.frames.some((f) => f.media_type === "video")).toBe(true);
      expect((await streamStatus(stream.stream_id)).status).toBe("live");
    }
    const log = system.node.lines.join("\n");
    for (const key of keys) expect(log.includes(key), "a stream key appears in the node's log").toBe(false);
  }, 80_000);

  it("rejects a wrong key in the handshake, before any media, with SRT's 'forbidden' reason", async () => {
    const accepted = await nodeMetric("ingest_publishes_accepted_total");
    expect(srtRejection(`sk_${randomBytes(24).toString("base64url")}`)).toBe(SRT_REJECT.FORBIDDEN);
    expect(srtRejection(`#!::r=sk_${randomBytes(24).toString("base64url")},m=publish`)).toBe(SRT_REJECT.FORBIDDEN);
    expect(srtRejection(`#!::r=${first.stream_key},m=request`)).toBe(SRT_REJECT.BAD_MODE);
    const wrong = system.publish(srtUrl("sk_wrong_key_for_srt"), { format: "mpegts", durationS: 5 });
    const code = await exitWithin(wrong, 10_000);
    expect(code).not.toBe(0);
    expect(code).not.toBe("running");
    expect(await nodeMetric("ingest_publishes_accepted_total")).toBe(accepted);
    expect(await nodeMetric("ingest_srt_refused_total", 'reason="edge forbidden"')).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it("rejects callers past SRT_MAX_CONNECTIONS with SRT's 'overload' reason, before asking the edge", async () => {
    const third = await createStream("srt third caller");
    const holder = srtCaller(third.stream_key);
    try {
      expect(holder.rejection).toBe(0);
      expect(srtRejection(third.stream_key)).toBe(SRT_REJECT.OVERLOAD);
      expect(srtRejection(`sk_${randomBytes(24).toString("base64url")}`)).toBe(SRT_REJECT.OVERLOAD);
      expect(await nodeMetric("ingest_srt_refused_total", 'reason="capacity"')).toBe(2);
    } finally {
      holder.close();
    }
    // The slot frees once the caller is gone: a wrong key is again checked with the edge.
    await eventually("the third caller's slot to free", 10_000, async () =>
      srtRejection(`sk_${randomBytes(24).toString("base64url")}`) === SRT_REJECT.FORBIDDEN ? true : undefined,
    );
  }, 30_000);

  it("refuses a second publisher for a live stream and keeps the first", async () => {
    const before = lastMsn(await playlistPast(first, -1, 1, 10_000));
    expect(srtRejection(`#!::r=${first.stream_key},m=publish`)).toBe(SRT_REJECT.CONFLICT);
    const duplicate = system.publish(srtUrl(first.stream_key), { format: "mpegts", durationS: 5 });
    expect(await exitWithin(duplicate, 10_000)).not.toBe("running");
    await playlistPast(first, before, 1, 15_000);
  }, 40_000);

  it("drops garbage datagrams on the SRT port without disturbing the live streams", async () => {
    const udp = createSocket("udp4");
    const before = await Promise.all([first, second].map(async (s) => lastMsn(await playlistPast(s, -1, 1, 10_000))));
    for (let i = 0; i < 3000; i++) {
      const size = 1 + (i % 1500);
      const datagram = randomBytes(size);
      // Every fourth one looks like an SRT control packet (high bit set: handshake, ack, shutdown...).
      if (i % 4 === 0) datagram[0] = 0x80;
      udp.send(datagram, srtPort, "127.0.0.1");
      if (i % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    udp.close();
    await Promise.all([first, second].map((s, i) => playlistPast(s, before[i]!, 2, 20_000)));
    expect(firstPublisher.child.exitCode).toBe(null);
  }, 40_000);

  it("continues the broadcast with a discontinuity when the publisher reconnects within the window", async () => {
    const before = await playlistPast(first, -1, 1, 10_000);
    const epoch = (await streamStatus(first.stream_id)).health.epoch;
    firstPublisher.child.kill("SIGKILL");
    await eventually("the edge to see the SRT publisher gone", 20_000, async () =>
      (await streamStatus(first.stream_id)).health.ingest_connected ? undefined : true,
    );
    expect((await streamStatus(first.stream_id)).status).toBe("live");
    const again = system.publish(srtUrl(first.stream_key), { format: "mpegts", fps: 25, size: "640x360" });
    await eventually("the reconnected SRT publisher to be live under a new epoch", 30_000, async () => {
      const status = await streamStatus(first.stream_id);
      return status.health.ingest_connected && (status.health.epoch ?? 0) > (epoch ?? 0) ? true : undefined;
    });
    // Segments of the new publish follow the old ones in the same playlist, after a discontinuity.
    const settled = lastMsn(await playlistPast(first, lastMsn(before), 1, 20_000));
    const media = await playlistPast(first, settled, 2, 30_000);
    expect(media.segments.some((s) => s.discontinuity && s.msn > lastMsn(before))).toBe(true);
    expect(media.segments.filter((s) => s.msn > settled).every((s) => !s.gap)).toBe(true);
    expect((await streamStatus(first.stream_id)).status).toBe("live");
    await again.stop();
  }, 60_000);

  it("keeps the copied source clean with 5 % loss on the path (SRT retransmits what the relay drops)", async () => {
    // The other publishers stop first: this one gets the machine.
    if (forwarder?.pid) process.kill(-forwarder.pid, "SIGKILL");
    forwarder = null;
    const lossy = await createStream("srt 5 % loss");
    const relay = await lossyRelay(0.05);
    try {
      const publisher = system.publish(`srt://127.0.0.1:${relay.port}?streamid=${lossy.stream_key}`, { format: "mpegts", fps: 25, size: "640x360" });
      const media = await playlistPast(lossy, 1, 4, 60_000);
      expect(publisher.child.exitCode).toBe(null);
      expect(relay.stats.dropped / (relay.stats.dropped + relay.stats.forwarded)).toBeGreaterThan(0.03);
      const master = await readMaster(lossy.playback_manifest_url);
      // The source rendition is the publisher's own H.264, copied: a lost packet would show as a decoding error.
      const source = master!.variants.find((v) => v.uri.includes("source/"));
      expect(source, "a source rendition (the publisher's H.264, copied)").toBeDefined();
      const playlist = await readMedia(source!.url);
      expect(playlist.segments.some((s) => s.gap || s.discontinuity)).toBe(false);
      const segments = playlist.segments.filter((s) => s.msn > 1 && s.msn <= lastMsn(media));
      expect(segments.length).toBeGreaterThanOrEqual(3);
      for (const downloaded of await downloadSegments({ ...playlist, segments })) {
        const probe = await probeBytes([downloaded.init, downloaded.bytes]);
        expect(probe.stderr, `segment ${downloaded.segment.msn}`).toBe("");
        const frames = probe.frames.filter((f) => f.media_type === "video").length;
        expect(frames, `video frames of segment ${downloaded.segment.msn}`).toBe(Math.round(downloaded.segment.duration * 25));
      }
      await publisher.stop();
    } finally {
      relay.close();
    }
  }, 90_000);
});

// Live-edge lag and the ingest node's CPU per stream, RTMP vs SRT vs WHIP, for the same source (FFmpeg's test pattern,
// 640x360 30 fps, 2 s GOP, `low` mode, test ladder): `node bench/ingest-protocols.ts [--seconds 40]`, under the e2e
// lock. One protocol at a time on one system. Per listed segment of an encoded rendition: the edge lag as in
// section 1 (now - program-date-time of its end: the node's side only, since program-date-time is when media reached
// the pipeline), and sent -> listed (now - when the publisher sent the segment's last frame, from the publish start
// and the segment's position; `-re` paces it in real time): that includes the protocol's own delay (SRT's receive
// latency, the TS demuxer), and FFmpeg's start-up alike for both, so the difference between protocols is what SRT
// adds. CPU: the node process and its children (FFmpeg; for SRT also the demuxer, for WHIP the RTP-to-FLV FFmpeg) over
// the steady part. WHIP's publisher is werift in this process sending the same pattern (x264 ultrafast, 2 s GOP, the
// test publisher's bitrate) from FFmpeg over RTP; its "sent" clock starts when that FFmpeg starts: once the peer
// connection is connected for `whip` (as a browser starts sending), at the answer for `whip-late` (as OBS does: its
// first keyframe is lost during DTLS setup, so the feed starts at the next one and "sent" is a GOP early for it).
// `--protocols rtmp,whip` runs a subset.
import { fileURLToPath } from "node:url";
import { startBenchSystem } from "./edge-system.ts";
import { parseTimeline } from "./hls.ts";
import { loadNow, machineInfo, machineLine, versionsLine } from "./machine.ts";
import { childrenOf, readStat } from "./proc.ts";
import { distribution, sleep } from "./stats.ts";
import { startWhipClient } from "../test/e2e/whip-client.ts";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1] || 40);
const PROTOCOLS = ["rtmp", "srt", "whip", "whip-late"] as const;
const protocolsFlag = process.argv.indexOf("--protocols");
const protocols = protocolsFlag > 0 ? PROTOCOLS.filter((p) => process.argv[protocolsFlag + 1]!.split(",").includes(p)) : PROTOCOLS;
/** Segments before this are the start-up: not in the lag figures, nor in the CPU window. */
const WARMUP_S = 10;
const SEGMENT_S = 2;

interface Row {
  protocol: (typeof PROTOCOLS)[number];
  segments: number;
  lagP50: number | null;
  lagP95: number | null;
  sentP50: number | null;
  sentP95: number | null;
  cores: number;
  load: number;
}

/** CPU seconds of the node and its children so far. */
function nodeCpuSeconds(pid: number): number {
  return (readStat(pid)?.cpuS ?? 0) + childrenOf(pid).reduce((sum, child) => sum + child.cpuS, 0);
}

const bench = await startBenchSystem({ WHIP_PORT: "0" });
const nodePid = bench.system.node.process.child.pid!;
const rows: Row[] = [];
try {
  for (const protocol of protocols) {
    const created = await bench.system.api<{ stream_id: string; stream_key: string; ingest_endpoint: string; srt_url: string | null; whip_url: string | null }>(
      "POST",
      "/streams",
      {
        title: `bench ${protocol}`,
        latency_mode: "low",
        record: false,
      },
    );
    const stream = created.body;
    const url = protocol === "rtmp" ? stream.ingest_endpoint : protocol === "srt" ? stream.srt_url : stream.whip_url;
    const whip = protocol === "whip" || protocol === "whip-late";
    if (!url) throw new Error(`no ${protocol} URL in the create answer`);
    let t0 = Date.now();
    let publisher: { stop(): Promise<unknown> };
    if (whip) {
      const startEncoder = protocol === "whip" ? "connected" : "answered";
      const client = await startWhipClient({ url, streamKey: stream.stream_key, videoKbps: Math.round((640 * 360 * 30 * 0.1) / 1000), startEncoder });
      t0 = client.startedAt;
      publisher = client;
    } else publisher = bench.system.publish(url, { format: protocol === "rtmp" ? "flv" : "mpegts" });
    const renditions = await bench.waitForRenditions(stream.stream_id, 3, 30_000);
    const chosen = renditions.find((r) => r.name !== "source") ?? renditions[0]!;
    const lags: number[] = [];
    const sentToListed: number[] = [];
    const seen = new Set<number>();
    let cpuStart: { at: number; cpu: number } | null = null;
    while (Date.now() < t0 + seconds * 1000) {
      if (cpuStart === null && Date.now() >= t0 + WARMUP_S * 1000) cpuStart = { at: Date.now(), cpu: nodeCpuSeconds(nodePid) };
      const text = await (await fetch(chosen.url)).text();
      const now = Date.now();
      for (const item of parseTimeline(text).items) {
        if (item.kind !== "segment" || seen.has(item.msn) || item.startMs === null) continue;
        seen.add(item.msn);
        if (item.msn * SEGMENT_S < WARMUP_S) continue;
        lags.push(now - (item.startMs + item.durationS * 1000));
        sentToListed.push(now - (t0 + (item.msn + 1) * SEGMENT_S * 1000));
      }
      await sleep(100);
    }
    const cpuEnd = { at: Date.now(), cpu: nodeCpuSeconds(nodePid) };
    await publisher.stop();
    await bench.stopStream(stream.stream_id);
    const lag = distribution(lags);
    const sent = distribution(sentToListed);
    const cores = cpuStart ? (cpuEnd.cpu - cpuStart.cpu) / ((cpuEnd.at - cpuStart.at) / 1000) : 0;
    rows.push({
      protocol,
      segments: lags.length,
      lagP50: lag.p50,
      lagP95: lag.p95,
      sentP50: sent.p50,
      sentP95: sent.p95,
      cores: Math.round(cores * 1000) / 1000,
      load: loadNow().load1,
    });
    console.log(JSON.stringify(rows.at(-1)));
    await sleep(8_000);
  }
} finally {
  await bench.system.stop();
}

const machine = machineInfo(fileURLToPath(new URL("..", import.meta.url)));
const ms = (v: number | null) => (v === null ? "–" : `${Math.round(v).toLocaleString("en-US")} ms`);
console.log("\n| protocol | segments | edge lag p50 | edge lag p95 | sent → listed p50 | sent → listed p95 | node CPU (cores) | 1-min load |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.protocol} | ${r.segments} | ${ms(r.lagP50)} | ${ms(r.lagP95)} | ${ms(r.sentP50)} | ${ms(r.sentP95)} | ${r.cores} | ${r.load} |`);
}
console.log(`\n<sub>Machine: ${machineLine(machine)} · ${versionsLine(machine)} · ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC</sub>`);

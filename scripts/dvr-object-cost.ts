// DVR reload cost as the stream object's CPU, on workerd: how many reloads per second one stream's Durable Object
// answers at a 10 s, 30 min and 4 h dvr_window, for a full playlist and for an LL-HLS delta update (`_HLS_skip=YES`).
// The edge is the Worker as it deploys on bare workerd (bench/edge-direct.ts), built from bench/workerd/object-counter.ts
// (it counts the calls each object receives), with the isolate and relay tiers off (COALESCE_PLAYLISTS=0,
// RELAY_PLAYLISTS=0), so every request is one call to the stream's object, as the budget in docs/BENCHMARKS.md
// section 7 is measured. A synthetic ingest node (bench/ingest-api.ts) broadcasts each stream's window and 20 more
// segments (2 s, the last three with their four parts, and a part in progress) straight into the object, which records
// them in its SQLite recording; the history is rendered from there. The 4 h window once more on a signed stream: the
// Worker then adds the viewer's token to every URI of the answer (edge/src/live/uri-query.ts). wrk then reloads one media playlist on one
// connection: 1 / throughput is the time one reload costs end to end (wrk, the Worker and the object share workerd's
// thread here), an upper bound of the object's CPU per reload. Beside it, the CPU workerd itself spent per reload (its
// threads' run time from /proc/<pid>/task/*/schedstat over the run, divided by the requests): the Worker's and the
// object's work without wrk's or the idle gaps between requests; less the same figure for `/bench/plain` (a Worker
// route with no object) it is the object's CPU per reload. The stream does not change while wrk runs, so each
// reload is what the object does between two window changes: answer from its render cache and send the text.
// Run (starts workerd: under the e2e lock): flock /tmp/e2e.lock node scripts/dvr-object-cost.ts [--seconds=5]
import os from "node:os";
import { DIRECT_INGEST_SECRET, type DirectEdge, startDirectEdge } from "../bench/edge-direct.ts";
import { SyntheticNode } from "../bench/ingest-api.ts";
import { listPids, processCpuMs, readStat } from "../bench/proc.ts";
import { runWrk } from "../bench/wrk.ts";

const WINDOWS = [
  { label: "10 s", seconds: 10 },
  { label: "30 min", seconds: 1800 },
  { label: "4 h", seconds: 14_400 },
];
const SEGMENT_S = 2;
const PARTS = 4;
/** Segments broadcast past the window, so the window has slid (and the live window's 15 are full). */
const EXTRA_SEGMENTS = 20;
const RENDITION = "360p";
const seconds = Number(process.argv.find((arg) => arg.startsWith("--seconds="))?.slice("--seconds=".length) ?? 5);

interface CreatedStream {
  stream_id: string;
  stream_key: string;
}

/** Broadcasts `segments` segments into a new interactive stream with `dvrWindow`; returns its media playlist URL. */
async function broadcast(edge: DirectEdge, node: SyntheticNode, dvrWindow: number, segments: number, signed = false): Promise<{ id: string; url: string }> {
  const created = await edge.api<CreatedStream>("POST", "/streams", {
    title: `dvr ${dvrWindow}`,
    latency_mode: "interactive",
    record: false,
    dvr_window: dvrWindow,
    playback_policy: signed ? "signed" : "public",
  });
  if (created.status !== 201) throw new Error(`POST /streams answered ${created.status}: ${JSON.stringify(created.body)}`);
  const id = created.body.stream_id;
  const grant = await node.publish(created.body.stream_key);
  await node.putInit(
    id,
    RENDITION,
    { epoch: grant.epoch, codecs: "avc1.42c01e,mp4a.40.2", width: 640, height: 360, bandwidth: 800_000, frame_rate: 30 },
    new Uint8Array(64),
  );
  const bytes = new Uint8Array(16).fill(7);
  const start = Date.now() - segments * SEGMENT_S * 1000;
  const first = grant.first_msn;
  for (let msn = first; msn < first + segments; msn += 1) {
    const withParts = msn >= first + segments - 3;
    if (withParts)
      for (let part = 0; part < PARTS; part += 1)
        await node.putPart(id, RENDITION, { epoch: grant.epoch, msn, part, duration: SEGMENT_S / PARTS, independent: part === 0 }, bytes);
    await node.putSegment(
      id,
      RENDITION,
      {
        epoch: grant.epoch,
        msn,
        duration: SEGMENT_S,
        program_date_time: new Date(start + (msn - first) * SEGMENT_S * 1000).toISOString(),
        parts: withParts ? PARTS : 0,
      },
      bytes,
    );
  }
  await node.putPart(id, RENDITION, { epoch: grant.epoch, msn: first + segments, part: 0, duration: SEGMENT_S / PARTS, independent: true }, bytes);
  let query = "";
  if (signed) {
    const minted = await edge.api<{ token: string }>("POST", `/streams/${id}/playback-tokens`, {});
    if (minted.status !== 201) throw new Error(`POST /streams/${id}/playback-tokens answered ${minted.status}`);
    query = `?token=${minted.body.token}`;
  }
  return { id, url: edge.url(`/live/${id}/${RENDITION}/index.m3u8${query}`) };
}

interface Reload {
  bytes: number;
  requestsPerSec: number;
  /** 1 / throughput at one connection, ms. */
  msPerReload: number;
  p50Ms: number | null;
  /** Calls the stream's object received per wrk request (1 with the tiers off). */
  callsPerRequest: number;
  /** CPU workerd spent per request, ms (all its threads). */
  workerdCpuMs: number;
}

/** The workerd processes of the direct edge (its process group), found once it runs. */
function workerdPids(edge: DirectEdge): number[] {
  const group = edge.process.child.pid;
  const pids = listPids().filter((pid) => {
    const stat = readStat(pid);
    return stat !== null && stat.pgrp === group && stat.comm === "workerd";
  });
  if (pids.length === 0) throw new Error(`no workerd process in process group ${group}`);
  return pids;
}

/** CPU ms all of `pids` have used so far. */
function cpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? Number.NaN), 0);
}

/** wrk on `url` for `seconds` on one connection, with the CPU workerd spent per request meanwhile. */
async function timedWrk(edge: DirectEdge, url: string): Promise<{ wrk: Awaited<ReturnType<typeof runWrk>>; workerdCpuMs: number }> {
  const pids = workerdPids(edge);
  const before = cpuMs(pids);
  const wrk = await runWrk(url, { connections: 1, durationS: seconds });
  return { wrk, workerdCpuMs: (cpuMs(pids) - before) / Math.max(1, wrk.requests) };
}

async function objectCalls(edge: DirectEdge, id: string): Promise<number> {
  const response = await fetch(edge.url(`/bench/object-calls/${id}`));
  return ((await response.json()) as Record<string, number>).mediaPlaylist ?? 0;
}

async function reload(edge: DirectEdge, id: string, url: string): Promise<Reload> {
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 300)}`);
  if (url.includes("token=") !== text.includes("token=")) throw new Error(`${url}: the token is not on the URIs, or the reverse`);
  if (url.includes("_HLS_skip") !== text.includes("#EXT-X-SKIP")) throw new Error(`${url}: a delta update was asked for and not given, or the reverse`);
  await runWrk(url, { connections: 1, durationS: 1 });
  const before = await objectCalls(edge, id);
  const { wrk: r, workerdCpuMs } = await timedWrk(edge, url);
  const calls = (await objectCalls(edge, id)) - before;
  if (r.non2xx + r.socketErrors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.socketErrors} socket errors`);
  return {
    bytes: Buffer.byteLength(text),
    requestsPerSec: r.requestsPerSec,
    msPerReload: 1000 / r.requestsPerSec,
    p50Ms: r.latencyP50Ms,
    callsPerRequest: calls / Math.max(1, r.requests),
    workerdCpuMs,
  };
}

const edge = await startDirectEdge(
  // The signing secret lets the signed case mint its viewer's token (the direct edge has no .dev.vars).
  { BENCH_ROUTES: "1", COALESCE_PLAYLISTS: "0", RELAY_PLAYLISTS: "0", RECONNECT_WINDOW_SECONDS: "3600", PLAYBACK_SIGNING_SECRET: "bench-dvr-signing-secret" },
  "bench/workerd/object-counter.ts",
);
try {
  const node = new SyntheticNode(edge.url(""), DIRECT_INGEST_SECRET, "dvr-object-cost");
  const broadcastStart = Date.now();
  // The windows, and the longest again on a signed stream (the Worker adds the viewer's token to every URI it names).
  const cases = [...WINDOWS.map((w) => ({ ...w, signed: false })), { ...WINDOWS.at(-1)!, label: `${WINDOWS.at(-1)!.label}, signed`, signed: true }];
  const streams = await Promise.all(cases.map((w) => broadcast(edge, node, w.seconds, Math.ceil(w.seconds / SEGMENT_S) + EXTRA_SEGMENTS, w.signed)));
  console.error(`broadcast in ${((Date.now() - broadcastStart) / 1000).toFixed(0)} s`);
  await runWrk(edge.url("/bench/plain"), { connections: 1, durationS: 1 });
  const { wrk: plain, workerdCpuMs: plainCpuMs } = await timedWrk(edge, edge.url("/bench/plain"));
  const rows: Array<{ label: string; segments: number; full: Reload; delta: Reload }> = [];
  for (const [i, w] of cases.entries()) {
    const { id, url } = streams[i]!;
    const full = await reload(edge, id, url);
    const delta = await reload(edge, id, `${url}${url.includes("?") ? "&" : "?"}_HLS_skip=YES`);
    rows.push({ label: w.label, segments: Math.ceil(w.seconds / SEGMENT_S), full, delta });
    console.error(`${w.label}: full ${full.requestsPerSec.toFixed(0)} req/s, delta ${delta.requestsPerSec.toFixed(0)} req/s`);
  }
  const cell = (r: Reload) =>
    `${(r.bytes / 1024).toFixed(1)} KiB: ${Math.round(r.requestsPerSec).toLocaleString("en-US")} req/s, **${r.msPerReload.toFixed(3)} ms** (p50 ${r.p50Ms ?? "?"} ms); ` +
    `workerd CPU ${r.workerdCpuMs.toFixed(3)} ms, object ~${(r.workerdCpuMs - plainCpuMs).toFixed(3)} ms`;
  console.log(
    `Node ${process.version}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}, load ${os.loadavg()[0]?.toFixed(1)}; wrk ${seconds} s, 1 connection`,
  );
  console.log(
    `\`/bench/plain\` (no Durable Object): ${Math.round(plain.requestsPerSec).toLocaleString("en-US")} req/s, ${(1000 / plain.requestsPerSec).toFixed(3)} ms, workerd CPU ${plainCpuMs.toFixed(3)} ms`,
  );
  console.log("");
  console.log("| dvr_window | LL-HLS full playlist | LL-HLS delta update (`_HLS_skip=YES`) | calls at the object per request |");
  console.log("|---|---|---|---|");
  for (const row of rows) {
    console.log(
      `| ${row.label} (${row.segments} segments) | ${cell(row.full)} | ${cell(row.delta)} | ${row.full.callsPerRequest.toFixed(2)} / ${row.delta.callsPerRequest.toFixed(2)} |`,
    );
  }
  const base = rows[0]!.delta.msPerReload;
  const longest = rows[WINDOWS.length - 1]!;
  console.log("");
  console.log(`Delta reload at ${longest.label} / at ${rows[0]!.label}: ${(longest.delta.msPerReload / base).toFixed(2)}x (target: within 2x)`);
  const cpuBase = rows[0]!.delta.workerdCpuMs;
  console.log(
    `Delta reload, workerd CPU at ${longest.label} / at ${rows[0]!.label}: ${(longest.delta.workerdCpuMs / cpuBase).toFixed(2)}x; ` +
      `the object's share (less /bench/plain): ${((longest.delta.workerdCpuMs - plainCpuMs) / (cpuBase - plainCpuMs)).toFixed(2)}x`,
  );
} finally {
  await edge.stop();
}

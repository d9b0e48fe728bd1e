// The "Viewer scale" section of docs/BENCHMARKS.md (bench/viewers.ts's figures), its plot and summary rows.
import { join } from "node:path";
import { lineChart, PALETTE } from "./plot-svg.ts";
import type { Figure } from "./render-png.ts";
import { sectionMissing } from "./report-missing.ts";
import type { SectionRun } from "./results.ts";
import { stalenessShares } from "../edge/src/live/relay-tier.ts";
import { callerCallsPerRenditionSec, paperEstimate, productionTrustMs, VIEWER_TARGETS, type ViewersResult } from "./viewers.ts";

type Caption = (run: SectionRun<unknown>, section: string) => string[];

/** "12 locations" or "12 locations in 3 tier regions". */
function where(locations: number | undefined, regions: number | undefined): string {
  return `${n(locations)} locations${regions ? ` in ${regions} tier regions` : ""}`;
}

/** The calls/s `holders` relays calling the object make for 2 renditions of 2 streams once each has viewers of each,
 *  however many: per rendition one follow call per playlist update and its own calls in long gaps (blocked requests wait
 *  on the follow). */
function ceilingOf(holders: number, r: ViewersResult, tiered: boolean): number {
  return holders * 2 * 2 * callerCallsPerRenditionSec(r.partS, callerTrustMs(r, tiered));
}

/** The bench's caller trust: its share of the bound with the isolates' share off (COALESCE_PLAYLISTS=0), a region's with
 *  the tier, a location's without it. */
function callerTrustMs(r: ViewersResult, tiered: boolean): number {
  const shares = stalenessShares(false, tiered);
  return r.stalenessBoundMs * (tiered ? shares.region : shares.location);
}

function n(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function passMark(pass: boolean | null | undefined): string {
  return pass === true ? "✅ pass" : pass === false ? "❌ fail" : "– not measured";
}

/** Summary rows: object load growth, and the 1M-viewer estimate against the budget. */
export function viewersSummaryRows(run: SectionRun<ViewersResult> | undefined): string[][] {
  const r = run?.result;
  const first = r?.steps[0];
  const last = r?.steps.at(-1);
  const paper = r?.budget && r.steps.length > 0 ? paperEstimate(r.steps, r.budget.budgetPerSec, r.partS) : null;
  const errors = r ? r.steps.reduce((sum, s) => sum + s.errors, 0) : null;
  return [
    [
      `Viewer scale: calls/s reaching the stream objects, ${n(first?.viewers)} → ${n(last?.viewers)} simulated viewers (${where(first?.locations, r?.regions)}); plain staleness p99; errors`,
      r && first && last
        ? `${r.steps.map((s) => n(s.objectPerSec.total, 1)).join(" → ")} (busiest ${n(r.growth, 2)}× the first); ${n(Math.max(...r.steps.map((s) => s.staleness.p99 ?? 0)))} ms; ${n(errors)}`
        : "–",
      `< ${VIEWER_TARGETS.growth}×; ≤ ${n(r?.stalenessBoundMs ?? 250)} ms; 0`,
      passMark(r?.pass),
    ],
    [
      "Viewer scale (on paper): one stream object's load at 1M viewers over 300 locations vs its measured budget",
      paper
        ? `${paper.regionalTier ? `with the regional tier: ${paper.regionalTier.regions} regions ${n(paper.regionalTier.objectPerSec)} calls/s (${n(paper.regionalTier.headroom, 1)}×)${paper.continentTier ? `, by continent (${paper.continentTier.regions}) ${n(paper.continentTier.objectPerSec)} calls/s (${n(paper.continentTier.headroom, 1)}×)` : ""}; ` : ""}without it ${n(paper.objectPerSec)} calls/s (${n(paper.headroom, 2)}×); budget ${n(paper.budgetPerSec)} req/s`
        : "–",
      "fits (≥ 2× headroom)",
      passMark(paper ? (r?.regions && paper.regionalTier ? paper.regionalTier.headroom >= 2 : paper.fits) : null),
    ],
  ];
}

/** The section's Markdown and figure. */
export function viewersSection(run: SectionRun<ViewersResult> | undefined, docsDir: string, caption: Caption): { md: string[]; figures: Figure[] } {
  const md: string[] = ["## 7. Viewer scale", ""];
  const figures: Figure[] = [];
  const r = run?.result;
  if (!run || !r) {
    md.push(sectionMissing(run, "viewers"), "");
    return { md, figures };
  }
  const captionLine = `<sub>${caption(run, "viewers").join(" · ")}; 1-min load ${run.load.before} before, ${run.load.after} after (other sessions were compiling on the same 2 cores)</sub>`;
  md.push(
    "How much of a crowd reaches one stream's Durable Object. The edge is the Worker as it deploys, on bare workerd (as in the fan-out",
    "section), built from `bench/workerd/object-counter.ts`: the edge's own code with its `LiveStream` class wrapped so that every call a",
    "stream object receives is counted by method, read through a bench-only route (`GET /bench/object-calls/:id`, answered only with",
    "`BENCH_ROUTES=1`). The edge's code carries no counter.",
    "",
  );
  const b = r.budget;
  if (b) {
    md.push(
      `**The budget.** A media playlist of an interactive stream (4 segments, a part) requested with wrk with the isolate and relay tiers`,
      "off (`COALESCE_PLAYLISTS=0`, `RELAY_PLAYLISTS=0`: every request is one call to the stream's object), 1 → 64 connections; the",
      "budget is the throughput of the busiest step whose median latency is at most twice the one-connection median. The same ramp on",
      "`/bench/plain` (no Durable Object) is the Worker's own ceiling on this workerd: the Worker and the object share workerd's thread",
      "here, so the budget is a lower bound for an object that has a thread of its own in production.",
      "",
      "| connections | playlist → object: req/s | p50 | p99 | `/bench/plain`: req/s | p50 |",
      "|---|---|---|---|---|---|",
    );
    for (const [i, s] of b.steps.entries()) {
      const plain = b.plainSteps[i];
      md.push(
        `| ${s.connections}${s.connections === b.kneeConnections ? " (budget)" : ""} | ${n(s.requestsPerSec)} | ${n(s.p50Ms, 2)} ms | ${n(s.p99Ms, 1)} ms | ${n(plain?.requestsPerSec)} | ${n(plain?.p50Ms, 2)} ms |`,
      );
    }
    md.push("", `**Budget: ${n(b.budgetPerSec)} playlist requests/s** for one stream object on this machine.`, "");
  }
  const first = r.steps[0];
  md.push(
    `**The simulation.** Two interactive streams (part target ${r.partS} s, 4 parts a segment, renditions \`hi\` and \`lo\`) fed on the`,
    "clock by a synthetic ingest node; simulated viewers, each with its own User-Agent (its own viewer session): 70 % reload their",
    `media playlist plainly every ${r.plainReloadS} s (a \`low\`-style player: half the 2 s target duration), 30 % chain blocking LL-HLS`,
    "requests on the part their playlist's `EXT-X-PRELOAD-HINT` names (an `interactive` player); every fifth viewer watches the",
    "signed stream with a token of its own (minted by the API, all distinct), blocking or plain like the others; both renditions",
    `have viewers of every kind; viewers are spread evenly over ${n(first?.locations)} simulated edge locations, named per request by the`,
    "test-only relay location header (`TEST_RELAY_LOCATION_HEADER`), so each location has its own `PlaylistRelay`. All viewers share",
    "one bounded pool of keep-alive raw sockets (`bench/keepalive-http.ts` `KeepAlivePool`, at most 1,024), as a crowd behind one edge",
    "shares the edge's connections: a request takes a connection for its whole exchange, a held one included, and gives it back.",
    "",
    "**Following instead of polling.** The relay that calls the stream's object (a region's, or a location's without the tier)",
    "follows each rendition its viewers reload plainly (`edge/src/live/relay-follow.ts`): it keeps one call held at the object",
    "(`LiveStream.followMediaPlaylist`, made with the playlist it has), which the object answers when that playlist changes (or",
    "unchanged after one update interval), saying how long it held it, and renews it with the answer. A held call proves nothing",
    "while it is held (the answer may be stuck on the way, or the object too busy to send it), so the relay answers plain reloads",
    "from its playlist only while the object confirmed it within the relay's share of the staleness bound; past that a reload",
    "waits as long again for the follow's next answer, then asks the object itself; while a call is overdue by its hold and 1 s,",
    "its blocked requests ask the object too (no second call is made). Blocked requests wait at the relay until the followed",
    "playlist lists their part: per rendition the object sees one",
    "call per playlist update (each part, each segment's close), plus the relay's own calls when parts come further apart than",
    "twice its share, whatever the number of viewers and their modes. Viewer counts ride on those calls, so a relay's separate",
    "count report goes only when no call since the change carried the same number.",
    "",
  );
  if (r.regions) {
    md.push(
      `**The regional tier.** The locations are grouped into ${r.regions} tier regions (\`RELAY_TIER_REGIONS\` as a table, location *i* in`,
      `region *i* mod ${r.regions}): each location's relay asks its region's relay (one \`PlaylistRelay\` per stream per region), which`,
      "asks the stream's object, following the renditions its locations ask for and holding their blocked requests on the follow (the",
      "location's relays keep plain playlists for half the staleness bound: `edge/src/live/relay-tier.ts`). The same crowds then run once more on a",
      "fresh edge with the tier off (`RELAY_TIER_REGIONS=off`), the location relays calling the object themselves.",
      "",
    );
  }
  md.push(
    "**Isolates.** Several workerd processes cost more than two cores have; instead every request runs with the isolate tier off",
    "(`COALESCE_PLAYLISTS=0`): each request reaches its location's relay as if every viewer had an isolate of its own — the worst",
    "case for the object, since real isolates only take load off (they keep plain playlists for part of the staleness bound and",
    "share blocked requests before the relay).",
    "",
    "**The largest crowd is sampled.** 10,000 viewers at a player's cadence send ~13,000 requests/s; tried while this benchmark was",
    "developed (2026-12-06), workerd answered ~1,550/s with late part uploads (load average 6.5, other sessions",
    "compiling). So each of the",
    "10,000 plays one second in ten (from a random phase, exactly as a player does, reloading plainly when back from a pause):",
    "the edge gets the request rate of ~1,000 players from 10,000 distinct sessions and tokens, which tests what",
    "could grow with the viewer count (viewer counting, token-keyed coalescing, per-session state) but not a 10× denser request stream.",
    "",
    "**Connection resets** (an earlier run of the sampled step had 593): one cause was the load client. Captured on loopback",
    "(tcpdump, 2026-12-06), every reset came from the edge's port on an established connection, and the kernel counted them as",
    "closes with a request unread (`TCPAbortOnClose`): workerd's HTTP server closes a keep-alive connection idle for 5 s (KJ",
    "`HttpServerSettings.pipelineTimeout`), and the client reused connections its sampled viewers had left idle that long. The",
    "client now reopens a connection idle for 4 s before using it (`IDLE_REOPEN_MS`), as browsers keep their idle timeout below",
    "the server's. Under the sampled crowd the client's own clock runs behind the server's (it starts a connection's idle time",
    "when it has read the answer, the server when it wrote it), so some reuses still race the close: as browsers do, a GET",
    "whose reused connection is reset or closed before any byte of its answer is sent once more on a fresh connection, counted",
    "in the table (*sent again*); a fresh connection's failure stays an error.",
    "",
  );
  const sampled = r.steps.find((s) => s.sampling > 1);
  const untieredSampled = r.untiered?.steps.find((s) => s.sampling > 1);
  md.push(
    "**What limits the sampled step** (found with instrumented runs of that step alone, 2026-12-06): workerd's one thread is",
    "saturated (the Worker's process at 80–95 % of a core, the load client and other sessions on the other), and under that load",
    "the stream objects' timers fire seconds late: follow calls were answered, by the object's own clock, 1.2–54 s after they",
    "came, far past the hold asked (6 s, or 93 ms in a variant tried), the calls of both streams' objects at one moment, while",
    "uploads were acknowledged within 1.4 s. The",
    "object releases held calls after a commit from a timer too (`setTimeout(…, 0)`, so that the node's acknowledgement goes",
    "first), so a change reached the region's follow as late. Before, a relay trusted a followed playlist as long as its call was",
    "pending, up to 19 s (plain staleness p99 2–16 s in those runs), and blocked requests waited at the region for the late",
    "follow, holding the client's sockets (all 1,024 busy, up to 9,000 requests waiting for one). Now a relay serves a followed",
    "playlist only within its share of the bound after the object last confirmed it, and asks the object itself otherwise",
    "(more calls when the follow is late, never a staler playlist); while a follow is overdue by its hold and 1 s its blocked",
    "requests ask the object (one call stays held: a second would only add to a busy object). Releasing held calls from a",
    "microtask instead of a timer cut the worst follow delay to",
    "~10 s in one run; not adopted (the released answers would then go out before the node's acknowledgement). No connection or",
    "subrequest limit was involved: the objects answered every call, late." +
      (sampled
        ? ` This run's sampled step${r.regions ? " with the tier" : ""}: ${n(sampled.errors)} errors, plain staleness p99 ${n(sampled.staleness.p99)} ms, blocked answers p99 ${n(sampled.blockingDelay.p99)} ms after their part` +
          (untieredSampled ? `; without the tier ${n(untieredSampled.errors)} errors, staleness p99 ${n(untieredSampled.staleness.p99)} ms.` : ".")
        : ""),
    "",
  );
  md.push(
    `**Staleness** of a plain answer: ms from the commit of the first part it does not list (its upload acknowledged by the edge before`,
    `the answer arrived) to the answer's arrival; 0 when it lists every part committed by then. The bound is half a part target,`,
    `${n(r.stalenessBoundMs)} ms (\`edge/src/live/latest-playlists.ts\`). *Calls/s at the objects* counts the calls viewers cause`,
    "(media and master playlists, relays' follow calls, hinted parts, viewer counts); the node's uploads are left out (the same in every step).",
    "",
    "| viewers | tier | edge req/s: plain / blocking | **calls/s at the objects**: public / signed / total | per part per location per rendition (public) | calls by method | plain staleness p50 / p99 / max | blocking answer after commit p50 / p99 | errors | load client: sockets / most waiting for one / sent again | status `viewers` (expected) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const s of [...r.steps, ...(r.untiered?.steps ?? [])]) {
    const methods = Object.entries(s.objectCalls)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(", ");
    const errors =
      s.errors === 0
        ? "0"
        : `${n(s.errors)} (${Object.entries(s.errorKinds)
            .map(([k, v]) => `${k}: ${v}`)
            .join(", ")})`;
    md.push(
      `| ${n(s.viewers)}${s.sampling > 1 ? ` (1 s in ${s.sampling})` : ""} | ${s.regions ? `${s.regions} regions` : "off"} | ${n(s.edgeRequestsPerSec.plain)} / ${n(s.edgeRequestsPerSec.blocking)} | ${n(s.objectPerSec.public, 1)} / ${n(s.objectPerSec.signed, 1)} / **${n(s.objectPerSec.total, 1)}** | ${n(s.objectPerPartPerLocationRendition, 2)} | ${methods} | ${n(s.staleness.p50)} / ${n(s.staleness.p99)} / ${n(s.staleness.max)} ms | ${n(s.blockingDelay.p50)} / ${n(s.blockingDelay.p99)} ms | ${errors} | ${s.clientSockets ? `${n(s.clientSockets.opened)} / ${n(s.clientSockets.peakWaiting)} / ${n(s.clientSockets.staleRetries)}` : "–"} | ${n(s.statusViewers.public)} (${n(s.statusViewers.expected)}) |`,
    );
  }
  const ceiling = first ? ceilingOf(r.regions || first.locations, r, Boolean(r.regions)) : null;
  const untieredCeiling = first && r.untiered ? ceilingOf(first.locations, r, false) : null;
  md.push(
    "",
    `Growth of the calls at the objects from ${n(first?.viewers)} to ${n(r.steps.at(-1)?.viewers)} viewers (the busiest step over the first)${r.regions ? ", with the tier" : ""}: **${n(r.growth, 2)}×** (target < ${VIEWER_TARGETS.growth}×, 0 errors, staleness p99 within the bound: ${passMark(r.pass)}).` +
      (r.untiered ? ` Without the tier: ${r.untiered.steps.map((s) => n(s.objectPerSec.total, 1)).join(" → ")} calls/s, ${n(r.untiered.growth, 2)}×.` : ""),
    `The ceiling, whatever the crowd: per ${r.regions ? "region" : "location"}, rendition and stream one follow call per playlist update, and calls of its own in the gaps between parts past twice its share of the bound (${n(callerCallsPerRenditionSec(r.partS, callerTrustMs(r, Boolean(r.regions))), 1)}/s with a ${n(callerTrustMs(r, Boolean(r.regions)))} ms share; a blocked call only before a follow exists), plus viewer-count reports — ${n(ceiling)} playlist calls/s for ${r.regions ? `${r.regions} regions` : `${n(first?.locations)} locations`} × 2 renditions × 2 streams` +
      (r.regions
        ? `, however many locations the regions hold; without the tier ${n(untieredCeiling)} for ${n(first?.locations)} locations (a location's share is the whole bound there).`
        : "."),
    "Every step has viewers of every rendition of both streams in every region, so every step sits at that ceiling: the smallest",
    "crowd costs the object what the largest does.",
  );
  md.push("");
  const p = r.budget && r.steps.length > 0 ? paperEstimate(r.steps, r.budget.budgetPerSec, r.partS) : null;
  if (p) {
    md.push(
      `**On paper: ${n(p.viewers)} viewers over ${n(p.locations)} locations, ${p.renditions} renditions.** A million viewers give every`,
      `caller viewers of every rendition, so the object's load is the ceiling above: per caller (the relay that calls the object) and`,
      `rendition one follow call per playlist update and its own calls in long gaps (production splits the bound with the isolates: the caller's share is half, ${n(productionTrustMs(r.partS))} ms), ${n(p.perLocationRenditionPerSec, 1)} calls/s (the simulation measured at most ${n(p.measuredPerLocationRenditionPerSec, 2)} per ${r.regions ? "region" : "location"}),`,
      `plus ${n(p.reportsPerLocationPerSec, 2)} viewer-count reports/s per caller (measured). Viewers do not enter the product. Without the regional tier every`,
      `location calls the object: ${n(p.locations)} × (${p.renditions} × ${n(p.perLocationRenditionPerSec, 1)} + ${n(p.reportsPerLocationPerSec, 2)}) ≈ **${n(p.objectPerSec)} calls/s** against the budget of`,
      `${n(p.budgetPerSec)} req/s: headroom **${n(p.headroom, 2)}×**${p.fits ? " — it fits." : " — it does not fit (an object needs ~2× headroom to stay responsive)."}`,
    );
    if (p.regionalTier) {
      md.push(
        `With the **regional tier** (built: \`RELAY_TIER_REGIONS\`, \`edge/src/live/relay-tier.ts\`) the object sees regions, not locations:`,
        `${p.regionalTier.regions} regions from a table ≈ **${n(p.regionalTier.objectPerSec)} calls/s**, headroom **${n(p.regionalTier.headroom, 1)}×**${p.continentTier ? `; the default, one region per inhabited continent (${p.continentTier.regions}), ≈ ${n(p.continentTier.objectPerSec)} calls/s, ${n(p.continentTier.headroom, 1)}×` : ""}.`,
        "The staleness bound is split so that the chain isolate → location → region never serves a playlist older than the bound.",
      );
    }
    md.push("");
  }
  const fig = lineChart({
    title: "Viewer scale: calls per second reaching the stream objects vs simulated viewers",
    xLabel: "simulated viewers (log10)",
    yLabel: "calls/s at the objects",
    series: [
      { name: "total (2 streams)", color: PALETTE[0]!, points: r.steps.map((s) => ({ x: Math.log10(s.viewers), y: s.objectPerSec.total })) },
      { name: "public stream", color: PALETTE[2]!, points: r.steps.map((s) => ({ x: Math.log10(s.viewers), y: s.objectPerSec.public })) },
      { name: "signed stream", color: PALETTE[3]!, points: r.steps.map((s) => ({ x: Math.log10(s.viewers), y: s.objectPerSec.signed })) },
      ...(r.untiered
        ? [
            {
              name: "total, regional tier off",
              color: PALETTE[1]!,
              points: r.untiered.steps.map((s) => ({ x: Math.log10(s.viewers), y: s.objectPerSec.total })),
            },
          ]
        : []),
      {
        name: "edge requests/s ÷ 10",
        color: "#7f7f7f",
        dashed: true,
        points: r.steps.map((s) => ({ x: Math.log10(s.viewers), y: s.edgeRequestsPerSec.total / 10 })),
      },
    ],
    refLines: [
      ...(ceiling ? [{ y: ceiling, label: `tiers' ceiling: ${n(ceiling)}/s`, color: "#d62728" }] : []),
      ...(untieredCeiling ? [{ y: untieredCeiling, label: `ceiling, regional tier off: ${n(untieredCeiling)}/s`, color: "#ff7f0e" }] : []),
    ],
    caption: caption(run, "viewers"),
    yMin: 0,
  });
  figures.push({ file: join(docsDir, "bench", "viewers.png"), ...fig });
  md.push("![Viewer scale](bench/viewers.png)", "", captionLine, "");
  return { md, figures };
}

/** The README's "Measured" row (null when not measured). */
export function viewersReadmeRow(run: SectionRun<ViewersResult> | undefined): string | null {
  const r = run?.result;
  const first = r?.steps[0];
  const last = r?.steps.at(-1);
  if (!r || !first || !last) return null;
  return `| viewer scale: calls/s reaching the stream objects, ${n(first.viewers)} → ${n(last.viewers)} simulated viewers over ${where(first.locations, r.regions)} (errors) | ${r.steps.map((s) => n(s.objectPerSec.total, 1)).join(" → ")} (busiest ${n(r.growth, 2)}× the first; ${n(r.steps.reduce((sum, s) => sum + s.errors, 0))}) | < ${VIEWER_TARGETS.growth}× (0) |`;
}

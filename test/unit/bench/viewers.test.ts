import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeepAliveConnection, KeepAlivePool } from "../../../bench/keepalive-http.ts";
import { callerCallsPerRenditionSec, paperEstimate, tierTable, unlistedAgeMs, type ViewerStep } from "../../../bench/viewers.ts";

const PLAYLIST = `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-PART-INF:PART-TARGET=0.5
#EXTINF:2.0,
seg-4.m4s
#EXT-X-PART:DURATION=0.5,URI="part-5.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="part-5.1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-5.2.m4s"
`;

describe("the viewer simulation's staleness", () => {
  it("is the age of the first part the answer does not list, when that part was committed before the answer", () => {
    const commits: Record<string, number> = { "5.1": 900, "5.2": 1000 };
    expect(unlistedAgeMs(PLAYLIST, (msn, part) => commits[`${msn}.${part}`], 1180)).toBe(180);
    // Not committed yet when the answer came: the answer was as fresh as it could be.
    expect(unlistedAgeMs(PLAYLIST, (msn, part) => commits[`${msn}.${part}`], 990)).toBe(0);
    expect(unlistedAgeMs(PLAYLIST, () => undefined, 5000)).toBe(0);
  });

  it("after the last part of a segment, the next one is part 0 of the next segment", () => {
    const body = PLAYLIST.replace('part-5.1.m4s"', 'part-5.3.m4s"');
    expect(unlistedAgeMs(body, (msn, part) => (msn === 6 && part === 0 ? 100 : undefined), 150)).toBe(50);
  });
});

function step(overrides: Partial<ViewerStep>): ViewerStep {
  const none = { n: 0, p50: null, p95: null, p99: null, max: null };
  return {
    viewers: 1000,
    sampling: 1,
    locations: 4,
    seconds: 10,
    edgeRequestsPerSec: { plain: 700, blocking: 600, total: 1300 },
    objectPerSec: { public: 40, signed: 30, total: 70 },
    objectPerPartPerLocationRendition: 2.5,
    objectCalls: { mediaPlaylist: 600, relayViewerCount: 80 },
    staleness: none,
    blockingDelay: none,
    errors: 0,
    errorKinds: {},
    statusViewers: { public: 800, expected: 800 },
    ...overrides,
  };
}

describe("the 1M-viewer estimate", () => {
  it("is the ceiling per caller (a follow call per playlist update, own calls in long gaps, measured reports) times 300 locations", () => {
    // 0.5 s parts: playlist updates are 2 parts/s and a segment's close every 4 parts, 2.5 follow calls/s. The caller's
    // share of the 250 ms bound is half in production (isolates keep the other half), 125 ms: a confirmed playlist serves
    // 125 ms, a reload then waits 125 ms for the follow, so a 500 ms gap leaves one call of its own: 2/s more. With the
    // whole bound (250 ms) the next part always comes in time. Reports 80 calls / 10 s / (4 locations x 2 streams) = 1/s.
    expect(callerCallsPerRenditionSec(0.5, 125)).toBe(4.5);
    expect(callerCallsPerRenditionSec(0.5, 250)).toBe(2.5);
    expect(callerCallsPerRenditionSec(0.5, 50)).toBe(2 * (1.25 + 4));
    const p = paperEstimate([step({})], 20_000, 0.5);
    expect(p.perLocationRenditionPerSec).toBe(4.5);
    expect(p.reportsPerLocationPerSec).toBe(1);
    expect(p.objectPerSec).toBe(300 * (4 * 4.5 + 1));
    expect(p.headroom).toBeCloseTo(20_000 / 5_700, 2);
    expect(p.fits).toBe(true);
    // The regional tier (built): 30 regions from a table, 6 by continent, each calling the object as a location did.
    expect(p.regionalTier).toEqual({ regions: 30, objectPerSec: 570, headroom: 35.09 });
    expect(p.continentTier).toEqual({ regions: 6, objectPerSec: 114, headroom: 175.44 });
    // 2x headroom is the line: 11,400 / 5,700 fits, 11,300 does not.
    expect(paperEstimate([step({})], 11_400, 0.5).fits).toBe(true);
    expect(paperEstimate([step({})], 11_300, 0.5).fits).toBe(false);
  });

  it("with the tier in the run, counts viewer-count reports per region (the relays that call the object)", () => {
    // 80 calls / 10 s / (2 regions x 2 streams) = 2/s per region.
    const p = paperEstimate([step({ regions: 2 })], 20_000, 0.5);
    expect(p.reportsPerLocationPerSec).toBe(2);
    expect(p.objectPerSec).toBe(300 * (4 * 4.5 + 2));
    expect(p.regionalTier?.objectPerSec).toBe(30 * 20);
  });
});

describe("the keep-alive load client", () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/chunked") {
        res.write("ab");
        res.end("cd");
      } else res.end(`you asked ${req.url} as ${req.headers["user-agent"]}`);
    });
    server.on("connection", () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends requests one after the other on one connection and reads Content-Length and chunked answers", async () => {
    const connection = new KeepAliveConnection("127.0.0.1", port);
    const [a, b, c] = await Promise.all([
      connection.get("/one", { "user-agent": "x" }),
      connection.get("/chunked"),
      connection.get("/two", { "user-agent": "y" }),
    ]);
    expect(a).toEqual({ status: 200, body: "you asked /one as x" });
    expect(b).toEqual({ status: 200, body: "abcd" });
    expect(c).toEqual({ status: 200, body: "you asked /two as y" });
    expect(connections).toBe(1);
    connection.close();
  });

  it("reopens a connection idle past its idle time instead of racing the server's own idle close", async () => {
    const before = connections;
    const connection = new KeepAliveConnection("127.0.0.1", port, 50);
    expect((await connection.get("/a")).status).toBe(200);
    expect((await connection.get("/b")).status).toBe(200);
    expect(connections - before).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await connection.get("/c")).body).toBe("you asked /c as undefined");
    expect(connections - before).toBe(2);
    connection.close();
  });

  it("sends a request once more on a fresh connection when the server closed the reused one before answering", async () => {
    // The server drops the connection the first /race arrives on, unanswered, as an idle close racing the request does.
    let raced = 0;
    const racingServer = createServer((req, res) => {
      if (req.url === "/race" && raced++ === 0) req.socket.destroy();
      else res.end(`racing server: ${req.url}`);
    });
    await new Promise<void>((resolve) => racingServer.listen(0, "127.0.0.1", resolve));
    const racingPort = (racingServer.address() as AddressInfo).port;
    const connection = new KeepAliveConnection("127.0.0.1", racingPort, 5000);
    expect((await connection.get("/a")).body).toBe("racing server: /a");
    expect((await connection.get("/race")).body).toBe("racing server: /race");
    expect(connection.staleRetries).toBe(1);
    connection.close();
    // On a fresh connection the same failure is the request's own.
    raced = 0;
    await expect(new KeepAliveConnection("127.0.0.1", racingPort, 5000).get("/race")).rejects.toThrow(/ECONNRESET|closed before an answer/);
    await new Promise<void>((resolve) => racingServer.close(() => resolve()));
  });

  it("shares at most maxSockets connections among many requests; the rest wait for one", async () => {
    const before = connections;
    const pool = new KeepAlivePool("127.0.0.1", port, 2);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.get(`/r${i}`, { "user-agent": `v${i}` })));
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 6 }, (_, i) => `you asked /r${i} as v${i}`));
    expect(pool.size).toBe(2);
    expect(pool.peakWaiting).toBe(4);
    expect(connections - before).toBe(2);
    pool.close();
  });
});

describe("the simulation's tier regions", () => {
  it("puts location i in region i mod regions, as RELAY_TIER_REGIONS reads it; 0 regions is the tier off", async () => {
    const { parseRelayTier, tierRegion } = await import("../../../edge/src/live/relay-tier.ts");
    const table = tierTable(12, 3);
    const tier = parseRelayTier(table);
    expect(tierRegion(tier, "XAA", undefined)).toBe("bench-r0");
    expect(tierRegion(tier, "XAB", undefined)).toBe("bench-r1");
    expect(tierRegion(tier, "XAD", undefined)).toBe("bench-r0");
    expect(tierRegion(tier, "XAL", undefined)).toBe("bench-r2");
    expect(tierTable(12, 0)).toBe("off");
  });
});

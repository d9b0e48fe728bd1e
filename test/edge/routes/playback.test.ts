// Playback as a player sees it: playlists followed from the multivariant playlist and checked tag by tag per latency
// mode, LL-HLS blocking reload, media serving from R2, and viewer counting.
import { stopBroadcast } from "../ingest-client.ts";
import { describe, expect, it, vi } from "vitest";
import { PlaylistRelay } from "../../../edge/src/live/objects/playlist-relay.ts";
import type { LatencyMode } from "../../../protocol/latency.ts";
import { callJson } from "../api.ts";
import { CODECS, createStream, expectProblem, FakePublisher, FIRST_PDT, get, getMaster, getMedia, parseMedia, resolve, sleep } from "../playback-helpers.ts";

const VERSION: Record<LatencyMode, number> = { standard: 8, low: 8, interactive: 9 };
const TARGET: Record<LatencyMode, number> = { standard: 6, low: 2, interactive: 2 };
const WINDOW: Record<LatencyMode, number> = { standard: 6, low: 15, interactive: 15 };

/** A broadcast in `mode` with `count` segments per rendition already uploaded (the last two with their parts). */
async function broadcast(mode: LatencyMode, count: number) {
  const stream = await createStream(mode);
  const publisher = await FakePublisher.start(stream);
  if (count > 0) await publisher.segments(0, count - 1, 2);
  const master = `/live/${stream.stream_id}/master.m3u8`;
  const { playlist } = await getMaster(master);
  const media = (name: string) => {
    const variant = playlist.variants.find((v) => v.uri.startsWith(`${name}/`));
    if (!variant) throw new Error(`no variant for ${name}`);
    return resolve(master, variant.uri);
  };
  return { stream, publisher, master, media };
}

describe.each<LatencyMode>(["standard", "low", "interactive"])("%s playlists", (mode) => {
  it("lists every rendition in the multivariant playlist with measured and declared figures", async () => {
    const { master, publisher } = await broadcast(mode, 2);
    const { text, playlist } = await getMaster(master);
    expect(playlist.version).toBe(VERSION[mode]);
    expect(playlist.independentSegments).toBe(true);
    expect(playlist.variants).toHaveLength(2);
    // Two segments per rendition of 50 kB and 100 kB: peak 100 kB over one segment, average over both.
    const seconds = publisher.segmentDuration;
    const peak = Math.ceil((100_000 * 8) / seconds);
    const average = Math.ceil((150_000 * 8) / (2 * seconds));
    const [first, second] = playlist.variants;
    expect(first).toMatchObject({
      uri: "360p/index.m3u8",
      bandwidth: Math.max(800_000, peak),
      averageBandwidth: average,
      resolution: { width: 640, height: 360 },
      codecs: CODECS,
      frameRate: 30,
    });
    expect(second).toMatchObject({
      uri: "240p/index.m3u8",
      bandwidth: Math.max(100_000, peak),
      averageBandwidth: average,
      resolution: { width: 426, height: 240 },
      codecs: CODECS,
      frameRate: 30,
    });
    expect(text).toContain("FRAME-RATE=30.000");
    // Every media playlist says the same version as the multivariant playlist.
    for (const variant of playlist.variants) {
      const { playlist: media } = await getMedia(resolve(master, variant.uri));
      expect(media.version).toBe(playlist.version);
    }
  });

  it("media playlists carry MAP, PDT, TARGETDURATION and MEDIA-SEQUENCE, and the window slides", async () => {
    const window = WINDOW[mode];
    const { media, publisher } = await broadcast(mode, 3);
    const path = media("360p");
    let { playlist, response } = await getMedia(path);
    expect(response.headers.get("cache-control")).toBe(`public, max-age=${Math.max(1, Math.floor(TARGET[mode] / 2))}`);
    // CORS-open for players on any origin, and traceable.
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-expose-headers")).toMatch(/Content-Range/);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(playlist.targetDuration).toBe(TARGET[mode]);
    expect(playlist.mediaSequenceBase).toBe(0);
    expect(playlist.discontinuitySequenceBase).toBe(0);
    expect(playlist.endlist).toBe(false);
    const complete = playlist.segments.filter((s) => s.uri !== "");
    expect(complete.map((s) => s.mediaSequenceNumber)).toEqual([0, 1, 2]);
    expect(complete.every((s) => s.duration === TARGET[mode])).toBe(true);
    expect(complete[0]!.map.uri).toBe(`${publisher.grant.epoch}/init.mp4`);
    expect(complete[0]!.programDateTime).toEqual(new Date(FIRST_PDT));
    expect(await (await get(resolve(path, complete[0]!.map.uri))).arrayBuffer()).toEqual(publisher.initBytes("360p").buffer);

    // Fill the window and slide it by two: the oldest segments leave, MEDIA-SEQUENCE and the first PDT follow.
    await publisher.segments(3, window + 1);
    ({ playlist } = await getMedia(path));
    const listed = playlist.segments.filter((s) => s.uri !== "");
    expect(playlist.mediaSequenceBase).toBe(2);
    expect(listed).toHaveLength(window);
    expect(listed[0]!.mediaSequenceNumber).toBe(2);
    expect(listed.at(-1)!.mediaSequenceNumber).toBe(window + 1);
    expect(listed[0]!.programDateTime).toEqual(new Date(publisher.programDateTime(2)));
    expect(listed[0]!.map.uri).toBe(`${publisher.grant.epoch}/init.mp4`);
    // A segment URI from the playlist serves the bytes that were uploaded for it.
    const bytes = await (await get(resolve(path, listed.at(-1)!.uri))).arrayBuffer();
    expect(bytes).toEqual(publisher.segmentBytes("360p", window + 1).buffer);
    // The slid-out segment is gone from the playlist, not from the other rendition's numbering.
    const other = await getMedia(media("240p"));
    expect(other.playlist.mediaSequenceBase).toBe(2);
  });
});

describe("plain (non-LL) playlists", () => {
  it.each<LatencyMode>(["standard", "low"])("%s: has no LL-HLS tags and ignores delivery directives", async (mode) => {
    const { media } = await broadcast(mode, 2);
    const { text, playlist } = await getMedia(`${media("360p")}?_HLS_msn=99&_HLS_part=3`);
    expect(playlist.lowLatencyCompatibility).toBeUndefined();
    expect(playlist.partTargetDuration).toBeUndefined();
    expect(playlist.renditionReports).toEqual([]);
    expect(text).not.toMatch(/#EXT-X-(PART|PRELOAD-HINT|SERVER-CONTROL|RENDITION-REPORT)/);
  });
});

describe("interactive (LL-HLS) playlists", () => {
  it("advertise PART-INF and SERVER-CONTROL, list parts with INDEPENDENT, a PRELOAD-HINT and RENDITION-REPORTs", async () => {
    const { media, publisher, stream } = await broadcast("interactive", 4);
    // The segment in progress: two parts of msn 4 in 360p, three in 240p.
    await publisher.part("360p", 4, 0);
    await publisher.part("360p", 4, 1);
    for (const p of [0, 1, 2]) await publisher.part("240p", 4, p);
    const path = media("360p");
    const { playlist, text } = await getMedia(path);
    const epoch = publisher.grant.epoch;

    expect(playlist.version).toBe(9);
    expect(playlist.partTargetDuration).toBe(0.5);
    expect(playlist.lowLatencyCompatibility).toEqual({ canBlockReload: true, canSkipUntil: 12, holdBack: 6, partHoldBack: 1.5 });
    expect(text).toContain("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000,PART-HOLD-BACK=1.500");
    expect(text).toContain("#EXT-X-PART-INF:PART-TARGET=0.500");

    const [s0, s1, s2, s3, current] = playlist.segments;
    // Only the last two complete segments keep their parts (uploaded for msn 2 and 3; never for 0 and 1).
    expect(s0!.parts).toEqual([]);
    expect(s1!.parts).toEqual([]);
    for (const [segment, msn] of [
      [s2!, 2],
      [s3!, 3],
    ] as const) {
      expect(segment.mediaSequenceNumber).toBe(msn);
      expect(segment.parts.map((p) => ({ uri: p.uri, duration: p.duration, independent: p.independent === true, hint: p.hint }))).toEqual(
        [0, 1, 2, 3].map((i) => ({ uri: `${epoch}/part-${msn}.${i}.m4s`, duration: 0.5, independent: i === 0, hint: false })),
      );
    }
    // The segment in progress: its parts so far, then the hint for the next one.
    expect(current!.uri).toBe("");
    expect(current!.mediaSequenceNumber).toBe(4);
    expect(current!.parts.map((p) => [p.uri, p.hint, p.independent === true])).toEqual([
      [`${epoch}/part-4.0.m4s`, false, true],
      [`${epoch}/part-4.1.m4s`, false, false],
      [`${epoch}/part-4.2.m4s`, true, false],
    ]);
    expect(text).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${epoch}/part-4.2.m4s"`);
    expect(playlist.renditionReports).toEqual([{ uri: "../240p/index.m3u8", lastMSN: 4, lastPart: 2 }]);
    // The report's URI resolves to the other rendition's playlist, which reports back.
    const other = await getMedia(resolve(path, playlist.renditionReports[0]!.uri));
    expect(other.playlist.renditionReports).toEqual([{ uri: "../360p/index.m3u8", lastMSN: 4, lastPart: 1 }]);
    // Parts named by the playlist are served.
    const part = await get(resolve(path, current!.parts[1]!.uri));
    expect(part.status).toBe(200);
    expect(part.headers.get("content-type")).toBe("video/iso.segment");
    expect((await callJson<{ renditions: unknown[] }>("GET", `/streams/${stream.stream_id}/status`, 200)).renditions).toHaveLength(2);
  });
});

describe("blocking playlist reload (_HLS_msn / _HLS_part)", () => {
  it("holds a request for a part not yet there and answers it when the part is uploaded", async () => {
    const { media, publisher } = await broadcast("interactive", 2);
    await publisher.part("360p", 2, 0);
    const path = media("360p");

    let answeredAt: number | null = null;
    const pending = get(`${path}?_HLS_msn=2&_HLS_part=1`).then((response) => {
      answeredAt = Date.now();
      return response;
    });
    await sleep(400);
    expect(answeredAt, "answered before the part existed").toBeNull();
    const uploadedAt = Date.now();
    await publisher.part("360p", 2, 1);
    const response = await pending;
    expect(answeredAt).not.toBeNull();
    expect(answeredAt!).toBeGreaterThanOrEqual(uploadedAt);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    const { playlist } = await parseMedia(response);
    const current = playlist.segments.at(-1)!;
    expect(current.mediaSequenceNumber).toBe(2);
    expect(current.parts.filter((p) => !p.hint).map((p) => p.uri)).toEqual([`${publisher.grant.epoch}/part-2.0.m4s`, `${publisher.grant.epoch}/part-2.1.m4s`]);
  });

  it("holds a request for the next segment until that segment is listed", async () => {
    const { media, publisher } = await broadcast("interactive", 2);
    const path = media("240p");
    let answered = false;
    const pending = get(`${path}?_HLS_msn=2`).then((response) => {
      answered = true;
      return response;
    });
    await sleep(300);
    expect(answered).toBe(false);
    // A part of msn 2 is not the whole segment: still held.
    await publisher.part("240p", 2, 0);
    await sleep(200);
    expect(answered).toBe(false);
    await publisher.segment("240p", 2, true);
    const { playlist } = await parseMedia(await pending);
    expect(playlist.segments.filter((s) => s.uri !== "").at(-1)!.mediaSequenceNumber).toBe(2);
  });

  it("holds a location's blocked requests for the same part in its relay: the stream's object sees one, counts all", async () => {
    const { media, stream, publisher } = await broadcast("interactive", 2);
    await publisher.part("360p", 2, 0);
    const status = () => callJson<{ held_requests: number; viewers: number }>("GET", `/streams/${stream.stream_id}/status`, 200);
    const before = await status();
    expect(before.held_requests).toBe(0);
    // Thirteen viewers: a viewer is a client IP + User-Agent pair.
    const viewer = (name: string) => ({ headers: { "user-agent": `held-relay-${name}` } });
    const held = Array.from({ length: 12 }, (_, i) => get(`${media("360p")}?_HLS_msn=2&_HLS_part=1`, viewer(String(i))));
    // A request for another part is another answer: the relay sends that one up too.
    const other = get(`${media("360p")}?_HLS_msn=2&_HLS_part=2`, viewer("other"));
    await sleep(300);
    expect((await status()).held_requests).toBe(2);
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(held)) {
      const { playlist } = await parseMedia(response);
      expect(
        playlist.segments
          .at(-1)!
          .parts.filter((p) => !p.hint)
          .map((p) => p.uri),
      ).toContain(`${publisher.grant.epoch}/part-2.1.m4s`);
    }
    expect((await status()).held_requests).toBe(1);
    await publisher.part("360p", 2, 2);
    expect((await other).status).toBe(200);
    expect((await status()).held_requests).toBe(0);
    // The relay reports the viewers whose requests rode on another's within a second.
    await sleep(700);
    expect((await status()).viewers).toBe(before.viewers + 13);
  });

  it("asks the stream's object directly when the location's relay fails: no viewer's request is lost to the extra hop", async () => {
    const { media, stream, publisher } = await broadcast("interactive", 2);
    await publisher.part("360p", 2, 0);
    // The relay runs in this isolate (the pool loads the Worker here): make every call to it fail.
    const broken = vi.spyOn(PlaylistRelay.prototype, "mediaPlaylist").mockRejectedValue(new Error("relay unavailable"));
    try {
      const held = Array.from({ length: 3 }, (_, i) => get(`${media("360p")}?_HLS_msn=2&_HLS_part=1&vsid=relay-down-${i}`));
      await sleep(300);
      expect(broken).toHaveBeenCalled();
      // Held by the stream's object itself instead.
      const status = await callJson<{ held_requests: number }>("GET", `/streams/${stream.stream_id}/status`, 200);
      expect(status.held_requests).toBe(3);
      await publisher.part("360p", 2, 1);
      for (const response of await Promise.all(held)) {
        const { playlist } = await parseMedia(response);
        expect(playlist.segments.at(-1)!.parts.map((p) => p.uri)).toContain(`${publisher.grant.epoch}/part-2.1.m4s`);
      }
    } finally {
      broken.mockRestore();
    }
  });

  it("answers at once when what is asked for is already there", async () => {
    const { media } = await broadcast("interactive", 2);
    const started = Date.now();
    const response = await get(`${media("360p")}?_HLS_msn=1&_HLS_part=3`);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("answers 400 for _HLS_part without _HLS_msn, and for a msn or part too far ahead", async () => {
    const { media } = await broadcast("interactive", 2);
    const path = media("360p");
    await expectProblem(await get(`${path}?_HLS_part=0`), 400, /_HLS_part requires _HLS_msn/);
    // The last segment is msn 1: msn 3 is one more than the two the spec allows.
    await expectProblem(await get(`${path}?_HLS_msn=4`), 400, /more than 2 past/);
    await expectProblem(await get(`${path}?_HLS_msn=3&_HLS_part=5`), 400, /parts past the last part/);
    await expectProblem(await get(`${path}?_HLS_msn=-1`), 400, /non-negative integer/);
    await expectProblem(await get(`${path}?_HLS_msn=1&_HLS_skip=NO`), 400, /_HLS_skip/);
  });

  it("answers 503 with Retry-After after three target durations (6 s)", { timeout: 20_000 }, async () => {
    const { media } = await broadcast("interactive", 2);
    const started = Date.now();
    const response = await get(`${media("360p")}?_HLS_msn=2&_HLS_part=0`);
    const waited = Date.now() - started;
    await expectProblem(response, 503, /did not arrive in time/);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(waited).toBeGreaterThanOrEqual(5_900);
    expect(waited).toBeLessThan(9_000);
  });

  it("releases held requests with the final playlist on stop, and ignores directives after ENDLIST", async () => {
    const { media, stream, publisher } = await broadcast("interactive", 2);
    const path = media("360p");
    const held = get(`${path}?_HLS_msn=2&_HLS_part=2`);
    await sleep(200);
    await stopBroadcast(stream.stream_id, publisher.grant.epoch, publisher.nodeId);
    const released = await parseMedia(await held);
    expect(released.playlist.endlist).toBe(true);

    // Directives that would be held or refused while live are ignored once the playlist has ENDLIST.
    for (const query of ["_HLS_msn=99&_HLS_part=0", "_HLS_part=1", "_HLS_msn=2&_HLS_skip=YES"]) {
      const started = Date.now();
      const response = await get(`${path}?${query}`);
      const { playlist, text } = await parseMedia(response);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(playlist.endlist).toBe(true);
      expect(playlist.skip).toBe(0);
      expect(text).not.toContain("#EXT-X-PRELOAD-HINT");
      expect(response.headers.get("cache-control")).toBe("public, max-age=5");
    }
  });
});

describe("media objects", () => {
  async function mediaUrls() {
    const { media, publisher } = await broadcast("low", 2);
    const path = media("360p");
    const { playlist } = await getMedia(path);
    const segment = playlist.segments[1]!;
    return { publisher, init: resolve(path, segment.map.uri), segment: resolve(path, segment.uri), bytes: publisher.segmentBytes("360p", 1) };
  }

  it("serves init and segments immutable, CORS-open, with their content types", async () => {
    const { init, segment, bytes, publisher } = await mediaUrls();
    for (const [path, type, body] of [
      [init, "video/mp4", publisher.initBytes("360p")],
      [segment, "video/iso.segment", bytes],
    ] as const) {
      // Repeats may come from the Cache API (put after the first GET): same headers either way.
      for (const round of ["miss", "hit"]) {
        const response = await get(path, { headers: { origin: "https://player.example" } });
        expect(response.status, `${path} (${round})`).toBe(200);
        expect(response.headers.get("content-type")).toBe(type);
        expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
        expect(response.headers.get("access-control-allow-origin")).toBe("*");
        expect(response.headers.get("content-length")).toBe(String(body.byteLength));
        expect(response.headers.get("etag")).toBeTruthy();
        expect(new Uint8Array(await response.arrayBuffer())).toEqual(body);
      }
    }
  });

  it("answers a CORS preflight", async () => {
    const { segment } = await mediaUrls();
    const response = await get(segment, {
      method: "OPTIONS",
      headers: { origin: "https://player.example", "access-control-request-method": "GET", "access-control-request-headers": "range" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("range");
    expect(response.headers.get("access-control-allow-methods")).toBe("GET,HEAD,OPTIONS");
    expect(response.headers.get("access-control-max-age")).toBe("86400");
    // Preflights of the VOD routes too (no such asset is needed: the browser asks before the GET).
    const vod = await get("/vod/vod_nonexistent/master.m3u8", {
      method: "OPTIONS",
      headers: { origin: "https://player.example", "access-control-request-method": "GET" },
    });
    expect(vod.status).toBe(204);
    expect(vod.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("serves byte ranges with 206 and a correct Content-Range", async () => {
    const { segment, bytes } = await mediaUrls();
    const size = bytes.byteLength;
    for (const [range, start, end] of [
      ["bytes=10-19", 10, 19],
      ["bytes=0-0", 0, 0],
      [`bytes=${size - 100}-`, size - 100, size - 1],
      ["bytes=-25", size - 25, size - 1],
    ] as const) {
      const response = await get(segment, { headers: { range } });
      expect(response.status, range).toBe(206);
      expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers.get("content-length")).toBe(String(end - start + 1));
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.slice(start, end + 1));
    }
  });

  it("answers HEAD with the length and no body", async () => {
    const { segment, bytes } = await mediaUrls();
    const response = await get(segment, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe(String(bytes.byteLength));
    expect(response.headers.get("content-type")).toBe("video/iso.segment");
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers 404 problems for missing objects and malformed names", async () => {
    const { segment, publisher } = await mediaUrls();
    const base = segment.slice(0, segment.lastIndexOf("/"));
    await expectProblem(await get(`${base}/seg-999999.m4s`), 404, /not found/);
    const head = await get(`${base}/seg-999999.m4s`, { method: "HEAD" });
    expect(head.status).toBe(404);
    expect(head.headers.get("content-type")).toBe("application/problem+json");
    const streamDir = `/live/${publisher.streamId}`;
    for (const bad of [
      `${base}/..%2F..%2Fsecret`,
      `${base}/%2E%2E`,
      `${streamDir}/..%2F360p/${publisher.grant.epoch}/seg-1.m4s`,
      `${base}/SEG-1.M4S`,
      `${streamDir}/360P/${publisher.grant.epoch}/seg-1.m4s`,
      `${base}/seg-1.mp4`,
      `${base}/seg-1.ts`,
      `${base}/seg-1.m4s.exe`,
      `${base}/init.m4s`,
      `${streamDir}/360p/x1/seg-1.m4s`,
      `/live/NOT-A-UUID/360p/${publisher.grant.epoch}/seg-1.m4s`,
    ]) {
      await expectProblem(await get(bad), 404);
    }
  });
});

describe("viewer counting", () => {
  it("counts distinct IP/User-Agent pairs among playlist requests; a made-up vsid adds no viewer", async () => {
    const { media, master, stream } = await broadcast("low", 1);
    const path = media("360p");
    const segment = resolve(path, (await getMedia(path)).playlist.segments[0]!.uri);
    const viewers = async () => (await callJson<{ viewers: number }>("GET", `/streams/${stream.stream_id}/status`, 200)).viewers;
    // broadcast() itself read the master and the media playlist once: one session (no IP, no UA).
    expect(await viewers()).toBe(1);

    const client = (ip: string, ua: string) => ({ headers: { "cf-connecting-ip": ip, "user-agent": ua } });
    await get(path, client("198.51.100.7", "VLC/3.0"));
    await get(master, client("198.51.100.7", "VLC/3.0"));
    expect(await viewers()).toBe(2);
    await get(path, client("198.51.100.7", "ffplay"));
    await get(path, client("198.51.100.8", "VLC/3.0"));
    expect(await viewers()).toBe(4);
    // One client inventing session ids stays one viewer per stream, however many it sends (master or media).
    for (let i = 0; i < 20; i += 1) {
      await get(`${path}?vsid=inflate-${String(i).padStart(4, "0")}`, client("192.0.2.1", "Chrome"));
      await get(`${master}?vsid=inflate-m-${String(i).padStart(4, "0")}`, client("192.0.2.1", "Chrome"));
    }
    expect(await viewers()).toBe(5);
    // Blocking requests too: each is counted, whether the stream's object or its relay saw it.
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => get(`${path}?_HLS_msn=0&vsid=inflate-b-${String(i).padStart(4, "0")}`, client("192.0.2.1", "Chrome"))),
    );
    await sleep(700);
    expect(await viewers()).toBe(5);
    // Media objects do not count: they are cacheable and say nothing about sessions.
    await get(`${segment}?vsid=session-cccc-3`, client("203.0.113.9", "Chrome"));
    expect(await viewers()).toBe(5);
  });
});

// MP4 downloads inside workerd: GET/HEAD /vods/:id/download.mp4 and /clips/:id/download.mp4 — who may download, the
// bytes (init + segments in order, byte for byte), headers, Range, a reconnect joined on one timeline, an encrypted
// clip decrypted, and the refusals (unknown rendition, periods that do not fit one file, DOWNLOAD_MAX_SEGMENTS).
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deriveContentKey, keyPeriod } from "../../../protocol/content-keys.ts";
import type { PublishResponse } from "../../../protocol/ingest.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { getConfig } from "../../../edge/src/config.ts";
import { firstDecodeTimes } from "../../../edge/src/storage/fmp4-timing.ts";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { mediaStore } from "../../../edge/src/storage/media-bucket.ts";
import { buildDownloadIndex, ContentKeys } from "../../../edge/src/vod/download-index.ts";
import { call, callJson, newUser } from "../api.ts";
import { encryptSegment, initSegment, mediaSegment, TRACKS } from "../fmp4-fixture.ts";
import { ingest, publish, stopBroadcast } from "../ingest-client.ts";
import { expectProblem } from "../playback-helpers.ts";
import { checkAgainstDocument } from "../openapi-check.ts";

interface Created {
  stream_id: string;
  stream_key: string;
}
interface Asset {
  vod_id?: string;
  clip_id?: string;
  download_url: string;
  duration_s: number;
}

const RUNGS = [
  { name: "720p", height: 720, bandwidth: 3_000_000 },
  { name: "360p", height: 360, bandwidth: 800_000 },
];

async function put(path: string, meta: unknown, body: Uint8Array): Promise<void> {
  const response = await ingest("PUT", path, { meta, body });
  if (response.status !== 204) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
}

/** What a fake broadcast uploaded, per rendition: init and the plain segment bytes by msn. */
interface Uploaded {
  stream: Created;
  grant: PublishResponse;
  init: Map<string, Uint8Array>;
  segments: Map<string, Map<number, Uint8Array>>;
}

async function uploadEpoch(
  up: Uploaded,
  grant: PublishResponse,
  msns: number[],
  init: (rendition: string) => Uint8Array,
  startS: (msn: number) => number,
): Promise<void> {
  const seed = grant.encryption ? Uint8Array.from(atob(grant.encryption.key_seed), (ch) => ch.charCodeAt(0)) : null;
  for (const rung of RUNGS) {
    const initBytes = init(rung.name);
    up.init.set(rung.name, initBytes);
    const meta = {
      epoch: grant.epoch,
      codecs: "avc1.42c01e,mp4a.40.2",
      width: Math.round((rung.height * 16) / 18) * 2,
      height: rung.height,
      bandwidth: rung.bandwidth,
      frame_rate: 30,
    };
    await put(ingestPaths.init(up.stream.stream_id, rung.name), meta, initBytes);
    const plain = up.segments.get(rung.name) ?? new Map<number, Uint8Array>();
    up.segments.set(rung.name, plain);
    for (const msn of msns) {
      const bytes = mediaSegment(startS(msn), msn + rung.height, 1000 + msn * 37 + (rung.height % 7));
      plain.set(msn, bytes);
      const stored = seed ? await encryptSegment(await deriveContentKey(seed, keyPeriod(msn, grant.encryption!.rotate_every)), msn, bytes) : bytes;
      const segmentMeta = { epoch: grant.epoch, msn, duration: 2, program_date_time: new Date(Date.UTC(2026, 11, 6, 12, 0, msn * 2)).toISOString(), parts: 0 };
      await put(ingestPaths.segment(up.stream.stream_id, rung.name, msn), segmentMeta, stored);
    }
  }
}

/** A broadcast of `count` 2 s segments from msn 0 (its encoder's clock starts at 0), still live. */
async function broadcast(body: Record<string, unknown>, count: number): Promise<Uploaded> {
  const stream = await callJson<Created>("POST", "/streams", 201, { body: { title: 'Launch day: ünïcode/"quotes"', latency_mode: "low", ...body } });
  const grant = await publish(stream.stream_key);
  const up: Uploaded = { stream, grant, init: new Map(), segments: new Map() };
  const msns = Array.from({ length: count }, (_, i) => grant.first_msn + i);
  await uploadEpoch(
    up,
    grant,
    msns,
    () => initSegment(),
    (msn) => (msn - grant.first_msn) * 2,
  );
  return up;
}

async function vodOf(up: Uploaded): Promise<Asset> {
  await stopBroadcast(up.stream.stream_id, up.grant.epoch);
  const { vods } = await callJson<{ vods: Asset[] }>("GET", `/streams/${up.stream.stream_id}/vods`, 200);
  return vods[0]!;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The file a download of `rendition` must be when no retiming is needed: init, then each segment. */
function expectedFile(up: Uploaded, rendition: string, msns: number[]): Uint8Array {
  return concat([up.init.get(rendition)!, ...msns.map((msn) => up.segments.get(rendition)!.get(msn)!)]);
}

const path = (url: string) => new URL(url).pathname + new URL(url).search;
const fetchPath = async (p: string, headers: Record<string, string> = {}, method = "GET") => {
  const response = await exports.default.fetch(new Request(`https://edge.test${p}`, { method, headers }));
  await checkAgainstDocument(method, p, response);
  return response;
};
const bytes = async (r: Response) => new Uint8Array(await r.arrayBuffer());

/** The tfdt (in seconds) of each segment-leading moof of a downloaded file, given where the segments start. */
function segmentStarts(file: Uint8Array, offsets: number[]): number[] {
  return offsets.map((offset) => {
    const times = firstDecodeTimes(file.subarray(offset));
    return Number(times.get(1)!) / TRACKS.get(1)!;
  });
}

describe("MP4 download of a VOD", () => {
  it("streams init + every segment of the best rendition with length, name and type; ?rendition= picks another; HEAD", async () => {
    const up = await broadcast({}, 3);
    const vod = await vodOf(up);
    expect(vod.download_url).toBe(`https://play.example.test/vods/${vod.vod_id}/download.mp4`);
    expect((await callJson<Asset>("GET", `/vods/${vod.vod_id}`, 200)).download_url).toBe(vod.download_url);

    const response = await fetchPath(path(vod.download_url));
    const body = await bytes(response);
    expect(response.status).toBe(200);
    const expected = expectedFile(up, "720p", [0, 1, 2]);
    expect(response.headers.get("content-type")).toBe("video/mp4");
    expect(response.headers.get("content-length")).toBe(String(expected.byteLength));
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("cache-control")).toBe("private, max-age=3600");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    // The title's unsafe characters never reach the quoted name; the UTF-8 one keeps the letters, percent-encoded.
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="Launch day_ unicode_quotes-720p.mp4"; filename*=UTF-8''Launch%20day%3A%20%C3%BCn%C3%AFcode_%22quotes%22-720p.mp4`,
    );
    expect(body).toEqual(expected);

    const low = await fetchPath(`${path(vod.download_url)}?rendition=360p`);
    expect(await bytes(low)).toEqual(expectedFile(up, "360p", [0, 1, 2]));
    expect(low.headers.get("content-disposition")).toContain('-360p.mp4"');

    const head = await fetchPath(path(vod.download_url), {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(expected.byteLength));
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    await expectProblem(await fetchPath(`${path(vod.download_url)}?rendition=1080p`), 400, /rendition: this vod has "720p", "360p"/);
    await expectProblem(await fetchPath(`${path(vod.download_url)}?rendition=..%2Fx`), 400, /rendition/);
  });

  it("answers Range requests across object boundaries (206, Content-Range), suffixes, 416 past the end, If-Range", async () => {
    const up = await broadcast({}, 3);
    const vod = await vodOf(up);
    const file = expectedFile(up, "720p", [0, 1, 2]);
    const url = path(vod.download_url);
    const initSize = up.init.get("720p")!.byteLength;
    // From inside the init segment, through the whole first segment, into the second.
    const from = initSize - 10;
    const to = initSize + up.segments.get("720p")!.get(0)!.byteLength + 99;
    const ranged = await fetchPath(url, { range: `bytes=${from}-${to}` });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes ${from}-${to}/${file.byteLength}`);
    expect(ranged.headers.get("content-length")).toBe(String(to - from + 1));
    expect(await bytes(ranged)).toEqual(file.subarray(from, to + 1));

    const suffix = await fetchPath(url, { range: "bytes=-500" });
    expect(suffix.status).toBe(206);
    expect(await bytes(suffix)).toEqual(file.subarray(file.byteLength - 500));
    const open = await fetchPath(url, { range: `bytes=${file.byteLength - 3}-` });
    expect(await bytes(open)).toEqual(file.subarray(file.byteLength - 3));

    // Reassembled from ranges of every size, it is the file.
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < file.byteLength; at += 1777) {
      const r = await fetchPath(url, { range: `bytes=${at}-${Math.min(at + 1776, file.byteLength - 1)}` });
      expect(r.status).toBe(206);
      pieces.push(await bytes(r));
    }
    expect(concat(pieces)).toEqual(file);

    const past = await fetchPath(url, { range: `bytes=${file.byteLength}-` });
    expect(past.headers.get("content-range")).toBe(`bytes */${file.byteLength}`);
    await expectProblem(past, 416);
    const etag = (await fetchPath(url, {}, "HEAD")).headers.get("etag")!;
    expect((await fetchPath(url, { range: "bytes=0-9", "if-range": etag })).status).toBe(206);
    const stale = await fetchPath(url, { range: "bytes=0-9", "if-range": '"something-else"' });
    expect(stale.status).toBe(200);
    expect((await bytes(stale)).byteLength).toBe(file.byteLength);
  });

  it("joins a reconnect's periods on one timeline when their init segments are identical, and refuses (409) when not", async () => {
    const up = await broadcast({}, 2);
    const stream = up.stream;
    await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: up.grant.epoch } });
    const again = await publish(stream.stream_key);
    // The new encoder's clock starts over at 0 s.
    await uploadEpoch(
      up,
      again,
      [again.first_msn, again.first_msn + 1],
      () => initSegment(),
      (msn) => (msn - again.first_msn) * 2,
    );
    await stopBroadcast(stream.stream_id, again.epoch);
    const { vods } = await callJson<{ vods: Asset[] }>("GET", `/streams/${stream.stream_id}/vods`, 200);
    const file = await bytes(await fetchPath(path(vods[0]!.download_url)));
    const msns = [0, 1, again.first_msn, again.first_msn + 1];
    const sizes = msns.map((msn) => up.segments.get("720p")!.get(msn)!.byteLength);
    const offsets = sizes.map((_, i) => up.init.get("720p")!.byteLength + sizes.slice(0, i).reduce((a, b) => a + b, 0));
    expect(file.byteLength).toBe(offsets[3]! + sizes[3]!);
    expect(segmentStarts(file, offsets)).toEqual([0, 2, 4, 6]);
    // Audio moved by the same time (its own timescale).
    expect(Number(firstDecodeTimes(file.subarray(offsets[2]!)).get(2))).toBe(4 * TRACKS.get(2)!);

    const changed = await broadcast({}, 1);
    await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: changed.stream.stream_id, epoch: changed.grant.epoch } });
    const next = await publish(changed.stream.stream_key);
    await uploadEpoch(
      changed,
      next,
      [next.first_msn],
      () => initSegment("another encoder"),
      () => 0,
    );
    await stopBroadcast(changed.stream.stream_id, next.epoch);
    const list = await callJson<{ vods: Asset[] }>("GET", `/streams/${changed.stream.stream_id}/vods`, 200);
    await expectProblem(await fetchPath(path(list.vods[0]!.download_url)), 409, /different init segments/);
  });

  it("refuses a VOD longer than DOWNLOAD_MAX_SEGMENTS (409 naming the setting); the default is 7200", async () => {
    expect(getConfig(env).downloadMaxSegments).toBe(7200);
    const up = await broadcast({}, 3);
    const vod = await vodOf(up);
    const request = { kind: "vod" as const, id: vod.vod_id!, rendition: null, maxSegments: 2 };
    const keys = () => new ContentKeys((streamId) => liveStream(env, streamId));
    await expect(buildDownloadIndex(mediaStore(env), request, keys())).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/at most 2 \(DOWNLOAD_MAX_SEGMENTS\)/),
    });
    expect((await buildDownloadIndex(mediaStore(env), { ...request, maxSegments: 3 }, keys())).pieces).toHaveLength(4);
  });
});

describe("a download whose media goes away part way", () => {
  it("fails its body instead of ending a short or wrong file as if complete", async () => {
    const up = await broadcast({}, 3);
    const vod = await vodOf(up);
    const url = path(vod.download_url);
    expect((await fetchPath(url, {}, "HEAD")).status).toBe(200); // the byte map is built and kept
    await env.MEDIA.delete(`live/${up.stream.stream_id}/720p/${up.grant.epoch}/seg-2.m4s`);
    const response = await fetchPath(url);
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
  });
});

describe("MP4 download of a clip", () => {
  it("decrypts an encrypted broadcast's clip and starts its timeline at zero", async () => {
    const up = await broadcast({ encryption: "aes-128", key_rotation: 2 }, 5);
    const clip = await callJson<Asset>("POST", `/streams/${up.stream.stream_id}/clips`, 201, { body: { start_offset: 2, duration: 4, title: "Best bit" } });
    expect(clip.download_url).toBe(`https://play.example.test/clips/${clip.clip_id}/download.mp4`);
    const response = await fetchPath(path(clip.download_url));
    const file = await bytes(response);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toContain('filename="Best bit-720p.mp4"');
    // Segments 1 and 2 (keys 0 and 1), decrypted: the same bytes but for their decode times, moved back by 2 s.
    const plain = [1, 2].map((msn) => up.segments.get("720p")!.get(msn)!);
    const init = up.init.get("720p")!;
    expect(file.byteLength).toBe(init.byteLength + plain[0]!.byteLength + plain[1]!.byteLength);
    expect(Number(response.headers.get("content-length"))).toBe(file.byteLength);
    expect(file.subarray(0, init.byteLength)).toEqual(init);
    expect(segmentStarts(file, [init.byteLength, init.byteLength + plain[0]!.byteLength])).toEqual([0, 2]);
    // Past the moof, the sample data is the plaintext's.
    const mdatAt = plain[0]!.byteLength - 1016;
    expect(file.subarray(init.byteLength + mdatAt, init.byteLength + plain[0]!.byteLength)).toEqual(plain[0]!.subarray(mdatAt));
    // A range inside the second (decrypted, retimed) segment.
    const at = init.byteLength + plain[0]!.byteLength + 100;
    const ranged = await fetchPath(path(clip.download_url), { range: `bytes=${at}-${at + 49}` });
    expect(await bytes(ranged)).toEqual(file.subarray(at, at + 50));
  });
});

describe("who may download", () => {
  it("public: anyone; signed: a playback token or the owner's API token; others 401/403/404", async () => {
    const owner = await newUser("downloader");
    const stream = await callJson<Created>("POST", "/streams", 201, { token: owner.token, body: { title: "signed", playback_policy: "signed" } });
    const grant = await publish(stream.stream_key);
    const up: Uploaded = { stream, grant, init: new Map(), segments: new Map() };
    await uploadEpoch(
      up,
      grant,
      [0, 1],
      () => initSegment(),
      (msn) => msn * 2,
    );
    await callJson("POST", `/streams/${stream.stream_id}/stop`, 200, { token: owner.token });
    await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: grant.epoch } });
    const { vods } = await callJson<{ vods: Asset[] }>("GET", `/streams/${stream.stream_id}/vods`, 200, { token: owner.token });
    const url = path(vods[0]!.download_url);

    await expectProblem(await fetchPath(url), 403, /signed playback/);
    await expectProblem(await fetchPath(`${url}?token=1.${"A".repeat(43)}`), 403);
    const minted = await callJson<{ token: string }>("POST", `/streams/${stream.stream_id}/playback-tokens`, 201, { token: owner.token, body: {} });
    const withToken = await fetchPath(`${url}?token=${minted.token}`);
    expect(withToken.status).toBe(200);
    expect(await bytes(withToken)).toEqual(expectedFile(up, "720p", [0, 1]));
    expect((await call("GET", url, { token: owner.token })).status).toBe(200);
    expect((await call("GET", url)).status).toBe(200); // the admin
    const stranger = await newUser("stranger");
    await expectProblem(await call("GET", url, { token: stranger.token }), 404);
    await expectProblem(await call("GET", url, { token: "et_not-a-token" }), 401);

    await expectProblem(await fetchPath(`/vods/${crypto.randomUUID()}/download.mp4`), 404);
    await expectProblem(await fetchPath(`/clips/${crypto.randomUUID()}/download.mp4`), 404);
    await expectProblem(await fetchPath("/vods/not-an-id/download.mp4"), 404);
    // Deleted: nothing is served any more.
    expect((await call("DELETE", url.replace("/download.mp4", ""), { token: owner.token })).status).toBe(204);
    await expectProblem(await fetchPath(`${url}?token=${minted.token}`), 404);
  });
});

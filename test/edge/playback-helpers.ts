// Helpers for playback tests: streams per latency mode, a fake node uploading renditions, and playlists read back
// the way a player reads them (follow the URIs, parse with hls-parser).
import { exports } from "cloudflare:workers";
import HLS, { type types } from "hls-parser";
import { expect } from "vitest";
import type { InitMeta, PartMeta, PublishResponse, SegmentMeta } from "../../protocol/ingest.ts";
import { ingestPaths } from "../../protocol/ingest-paths.ts";
import type { LatencyMode } from "../../protocol/latency.ts";
import { callJson } from "./api.ts";
import { ingest, publish } from "./ingest-client.ts";

HLS.setOptions({ strictMode: true });

type MasterPlaylist = types.MasterPlaylist;
type MediaPlaylist = types.MediaPlaylist;

/** A stream as the create call returns it (the fields these tests use). */
export interface CreatedStream {
  stream_id: string;
  stream_key: string;
}

/** Creates a stream with the admin token. */
export function createStream(latencyMode: LatencyMode, title = "playback test"): Promise<CreatedStream> {
  return callJson<CreatedStream>("POST", "/streams", 201, { body: { title, latency_mode: latencyMode } });
}

/** Asserts a problem+json answer with `status` (and a detail matching `detail`). */
export async function expectProblem(response: Response, status: number, detail?: RegExp): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ status, title: expect.any(String), code: expect.any(String) });
  if (detail) expect(body.detail).toMatch(detail);
  return body;
}

/** A public request to the Worker, as a viewer makes it (no token). */
export function get(path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return exports.default.fetch(new Request(`https://edge.test${path}`, { method: init.method ?? "GET", headers: init.headers }));
}

/** `uri` resolved against the playlist at `base`, as a path with its query (what a player would request). */
export function resolve(base: string, uri: string): string {
  const url = new URL(uri, `https://edge.test${base}`);
  return `${url.pathname}${url.search}`;
}

/** A playlist body as text (workerd warns when .text() reads a non-text content type). */
async function playlistText(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

/** Fetches and parses a multivariant playlist, asserting 200 and the HLS content type. */
export async function getMaster(path: string): Promise<{ response: Response; text: string; playlist: MasterPlaylist }> {
  const response = await get(path);
  const text = await playlistText(response);
  expect(response.status, text).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
  const playlist = HLS.parse(text);
  if (!playlist.isMasterPlaylist) throw new Error(`${path} is not a multivariant playlist:\n${text}`);
  return { response, text, playlist: playlist as MasterPlaylist };
}

/** Parses a media playlist answer, asserting 200 and the HLS content type. */
export async function parseMedia(response: Response): Promise<{ text: string; playlist: MediaPlaylist }> {
  const text = await playlistText(response);
  expect(response.status, text).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error(`not a media playlist:\n${text}`);
  return { text, playlist: playlist as MediaPlaylist };
}

/** Fetches and parses a media playlist. */
export async function getMedia(path: string): Promise<{ response: Response; text: string; playlist: MediaPlaylist }> {
  const response = await get(path);
  // The body is consumed: callers use the response for its status and headers.
  return { response, ...(await parseMedia(response)) };
}

/** One rung a fake node uploads. */
export interface FakeRendition {
  name: string;
  width: number;
  height: number;
  /** Declared peak bandwidth (bits/s). */
  bandwidth: number;
}

/** The two rungs most tests use. */
export const LADDER: FakeRendition[] = [
  { name: "360p", width: 640, height: 360, bandwidth: 800_000 },
  { name: "240p", width: 426, height: 240, bandwidth: 100_000 },
];

/** The CODECS every fake rendition declares. */
export const CODECS = "avc1.42c01e,mp4a.40.2";

/** Capture time of the first segment of every fake broadcast. */
export const FIRST_PDT = Date.UTC(2026, 10, 25, 12, 0, 0);

/** Deterministic bytes of a media object, so a test can check what it reads back. */
export function mediaBytes(label: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) out[i] = (i * 31 + label.length * 7) & 0xff;
  out.set(new TextEncoder().encode(label).slice(0, size));
  return out;
}

async function upload(path: string, meta: unknown, body: Uint8Array, nodeId: string): Promise<void> {
  const response = await ingest("PUT", path, { nodeId, meta, body });
  if (response.status !== 204) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
}

/** A fake ingest node publishing one stream: uploads inits, parts and segments with consistent metadata. */
export class FakePublisher {
  readonly streamId: string;
  readonly grant: PublishResponse;
  readonly ladder: FakeRendition[];
  readonly nodeId: string;

  private constructor(streamId: string, grant: PublishResponse, ladder: FakeRendition[], nodeId: string) {
    this.streamId = streamId;
    this.grant = grant;
    this.ladder = ladder;
    this.nodeId = nodeId;
  }

  /** Publishes `stream` and uploads every rendition's init segment. */
  static async start(stream: CreatedStream, ladder: FakeRendition[] = LADDER, nodeId = "node-a"): Promise<FakePublisher> {
    const grant = await publish(stream.stream_key, nodeId);
    const publisher = new FakePublisher(stream.stream_id, grant, ladder, nodeId);
    for (const r of ladder) {
      const meta: InitMeta = { epoch: grant.epoch, codecs: CODECS, width: r.width, height: r.height, bandwidth: r.bandwidth, frame_rate: 30 };
      await upload(ingestPaths.init(stream.stream_id, r.name), meta, publisher.initBytes(r.name), nodeId);
    }
    return publisher;
  }

  /** Segment duration the grant asks for. */
  get segmentDuration(): number {
    return this.grant.segment_target;
  }

  /** Parts per segment (0 without LL-HLS). */
  get partsPerSegment(): number {
    return this.grant.part_target === null ? 0 : Math.round(this.grant.segment_target / this.grant.part_target);
  }

  /** The bytes uploaded as `rendition`'s init segment. */
  initBytes(rendition: string): Uint8Array {
    return mediaBytes(`init ${rendition}`, 600);
  }

  /** The bytes uploaded as segment `msn` of `rendition` (sizes vary so measured bandwidths differ). */
  segmentBytes(rendition: string, msn: number): Uint8Array {
    return mediaBytes(`seg ${rendition} ${msn}`, msn % 2 === 0 ? 50_000 : 100_000);
  }

  /** The capture time of segment `msn`. */
  programDateTime(msn: number): string {
    return new Date(FIRST_PDT + msn * this.segmentDuration * 1000).toISOString();
  }

  /** Uploads part `part` of segment `msn` for one rendition. */
  async part(rendition: string, msn: number, part: number): Promise<void> {
    const meta: PartMeta = { epoch: this.grant.epoch, msn, part, duration: this.grant.part_target ?? 0.5, independent: part === 0 };
    await upload(ingestPaths.part(this.streamId, rendition, msn, part), meta, mediaBytes(`part ${rendition} ${msn}.${part}`, 300), this.nodeId);
  }

  /** Uploads segment `msn` for one rendition (its parts first when `withParts`). */
  async segment(rendition: string, msn: number, withParts = false): Promise<void> {
    const parts = this.partsPerSegment;
    if (withParts) for (let p = 0; p < parts; p += 1) await this.part(rendition, msn, p);
    const meta: SegmentMeta = { epoch: this.grant.epoch, msn, duration: this.segmentDuration, program_date_time: this.programDateTime(msn), parts };
    await upload(ingestPaths.segment(this.streamId, rendition, msn), meta, this.segmentBytes(rendition, msn), this.nodeId);
  }

  /** Uploads segments `from`..`to` (inclusive) for every rendition; the last `partsFor` of them with their parts. */
  async segments(from: number, to: number, partsFor = 0): Promise<void> {
    for (let msn = from; msn <= to; msn += 1) {
      for (const r of this.ladder) await this.segment(r.name, msn, this.partsPerSegment > 0 && msn > to - partsFor);
    }
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A playlist body as text. */
export async function text(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

/** Every URI a playlist names: URI lines and URI="..." attributes. */
export function urisOf(playlist: string): string[] {
  const uris: string[] = [];
  for (const line of playlist.split("\n")) {
    if (line === "") continue;
    if (!line.startsWith("#")) uris.push(line);
    for (const match of line.matchAll(/URI="([^"]*)"/g)) uris.push(match[1]!);
  }
  return uris;
}

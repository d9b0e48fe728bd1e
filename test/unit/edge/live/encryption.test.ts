// EXT-X-KEY placement in encrypted playlists (live, LL-HLS parts, delta updates, discontinuities, VOD), parsed back with
// hls-parser and walked line by line the way hls.js applies key tags: every segment and part must be under the key of
// its msn's period, and every EXT-X-MAP under no key (init segments are in the clear, RFC 8216bis §4.4.4.4).
import HLS from "hls-parser";
import type { MediaPlaylist } from "hls-parser/types.js";
import { describe, expect, it } from "vitest";
import { CLEAR_KEY_TAG, keyTag, keyTagWriter } from "../../../../edge/src/hls/key-tags.ts";
import { renderMedia, renderMultivariant } from "../../../../edge/src/live/playlist.ts";
import type { RecordedSegment } from "../../../../edge/src/vod/recorded-segment.ts";
import { addInit, addPart, addSegment, createLiveWindow, type LiveWindowState, type WindowEncryption } from "../../../../edge/src/live/window.ts";
import { renderAssetMedia } from "../../../../edge/src/vod/vod-playlist.ts";
import { addLadder, feedLowLatency, feedSegments, initMeta, lines, partMeta, segmentMeta, T0 } from "./fixtures.ts";

HLS.setOptions({ strictMode: true });

const STREAM = "8c0c8e9e-3b7a-4d0e-9a52-2f3f3c2d1e0f";
const SESSION = "0b7d1c4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e";
const PREFIX = `/live/${STREAM}/keys/${SESSION}/`;

function encryption(rotateEvery: number): WindowEncryption {
  return { method: "AES-128", sessionId: SESSION, rotateEvery, keyUriPrefix: PREFIX };
}

function parse(text: string): MediaPlaylist {
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error("expected a media playlist");
  return playlist as MediaPlaylist;
}

function render(state: LiveWindowState, options: Parameters<typeof renderMedia>[2] = {}): { text: string; playlist: MediaPlaylist } {
  const text = renderMedia(state, "360p", options);
  if (text === null) throw new Error("no rendition");
  return { text, playlist: parse(text) };
}

/** The msn a media URI names (`…seg-12.m4s`, `…part-12.3.m4s`). */
function msnOf(uri: string): number {
  const match = /(?:seg|part)-(\d+)/.exec(uri);
  if (!match) throw new Error(`no msn in ${uri}`);
  return Number(match[1]);
}

/**
 * Walks a playlist as a client applies EXT-X-KEY (a tag governs what follows it until the next one; without an IV
 * attribute the IV is the implied Media Sequence Number, MEDIA-SEQUENCE + skipped + index, §5.2) and checks that every
 * map is clear and that every segment, part and preload hint is under the key of its msn's period with IV = its msn —
 * what the node encrypted it with. Returns the key URIs in the order they appear.
 */
function checkKeyScopes(text: string, rotateEvery: number, query = ""): string[] {
  let key: { uri: string; iv: number | null } | null = null;
  let implied = 0;
  const named: string[] = [];
  const expectKey = (uri: string) => {
    const msn = msnOf(uri);
    expect(key?.uri, `key of ${uri}`).toBe(`${PREFIX}${Math.floor(msn / rotateEvery)}.key${query}`);
    expect(key?.iv ?? implied, `IV of ${uri}`).toBe(msn);
  };
  for (const line of lines(text)) {
    if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) implied = Number(line.split(":")[1]);
    else if (line.startsWith("#EXT-X-SKIP:")) implied += Number(/SKIPPED-SEGMENTS=(\d+)/.exec(line)![1]);
    else if (line.startsWith("#EXT-X-KEY:")) {
      const iv = /,IV=0x([0-9a-f]{32})/.exec(line)?.[1];
      key = line === CLEAR_KEY_TAG ? null : { uri: /URI="([^"]+)"/.exec(line)![1]!, iv: iv === undefined ? null : Number.parseInt(iv, 16) };
      if (key !== null) named.push(key.uri);
    } else if (line.startsWith("#EXT-X-MAP:")) {
      expect(key, line).toBeNull();
    } else if (line.startsWith("#EXT-X-PART:") || line.startsWith("#EXT-X-PRELOAD-HINT:")) {
      expectKey(/URI="([^"]+)"/.exec(line)![1]!);
    } else if (line !== "" && !line.startsWith("#")) {
      expectKey(line);
      implied += 1;
    }
  }
  return named;
}

describe("live playlists of an encrypted low-latency-mode stream", () => {
  it("names the key before the first segment of each key period, after the map, with no IV attribute", () => {
    const state = createLiveWindow({ mode: "low", encryption: encryption(3) });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 7);
    const { text, playlist } = render(state);
    expect(lines(text).slice(5, 9)).toEqual([
      '#EXT-X-MAP:URI="1/init.mp4"',
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}0.key"`,
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:00.000Z",
      "#EXTINF:2.000,",
    ]);
    expect(checkKeyScopes(text, 3)).toEqual([0, 1, 2].map((k) => `${PREFIX}${k}.key`));
    expect(text).not.toContain("IV=");
    expect(text).not.toContain(CLEAR_KEY_TAG);
    expect(playlist.version).toBe(8);
    for (const segment of playlist.segments) {
      expect(segment.key).toMatchObject({ method: "AES-128", uri: `${PREFIX}${Math.floor(segment.mediaSequenceNumber / 3)}.key` });
      expect(segment.key?.iv).toBeUndefined();
    }
    // The key tag sits right before the first segment of its period.
    const at = (msn: number) => lines(text).indexOf(`1/seg-${msn}.m4s`);
    expect(lines(text)[at(3) - 2]).toBe(`#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}1.key"`);
    expect(lines(text)[at(6) - 2]).toBe(`#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}2.key"`);
  });

  it("keeps naming the key of the first listed segment as the window slides (§6.2.3)", () => {
    const state = createLiveWindow({ mode: "low", windowSegments: 4, encryption: encryption(10) });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 24);
    const { text, playlist } = render(state);
    expect(playlist.segments.map((s) => s.mediaSequenceNumber)).toEqual([21, 22, 23, 24]);
    expect(checkKeyScopes(text, 10)).toEqual([`${PREFIX}2.key`]);
  });

  it("appends the signed-playback query to key URIs", () => {
    const state = createLiveWindow({ mode: "low", encryption: encryption(2) });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 4);
    const { text, playlist } = render(state, { uriQuery: "token=123.abc" });
    expect(checkKeyScopes(text, 2, "?token=123.abc")).toHaveLength(3);
    expect(playlist.segments[0]?.key?.uri).toBe(`${PREFIX}0.key?token=123.abc`);
  });

  it("ends the key's scope before a new init segment and names the key again after the discontinuity", () => {
    const state = createLiveWindow({ mode: "low", encryption: encryption(10) });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 3);
    addInit(state, "360p", initMeta(2), { firstMsn: 4 });
    feedSegments(state, "360p", 4, 5, { epoch: 2 });
    const { text, playlist } = render(state);
    const at = lines(text).indexOf("#EXT-X-DISCONTINUITY");
    expect(lines(text).slice(at, at + 5)).toEqual([
      "#EXT-X-DISCONTINUITY",
      CLEAR_KEY_TAG,
      '#EXT-X-MAP:URI="2/init.mp4"',
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}0.key"`,
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:08.000Z",
    ]);
    checkKeyScopes(text, 10);
    const after = playlist.segments.find((s) => s.mediaSequenceNumber === 4);
    expect(after).toMatchObject({ discontinuity: true, key: { method: "AES-128", uri: `${PREFIX}0.key` }, map: { uri: "2/init.mp4" } });
  });

  it("survives a JSON round trip, and a clear stream (or an old saved state) has no key tags", () => {
    const state = createLiveWindow({ mode: "low", encryption: encryption(3) });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 5);
    expect(renderMedia(JSON.parse(JSON.stringify(state)) as LiveWindowState, "360p")).toBe(renderMedia(state, "360p"));

    const clear = createLiveWindow({ mode: "low" });
    addInit(clear, "360p", initMeta(1));
    feedSegments(clear, "360p", 0, 5);
    expect(clear.encryption).toBeNull();
    expect(renderMedia(clear, "360p")).not.toContain("#EXT-X-KEY");
    delete clear.encryption;
    expect(renderMedia(clear, "360p")).not.toContain("#EXT-X-KEY");
    // Keys are per media playlist; the multivariant playlist does not change.
    expect(renderMultivariant(state)).toBe(renderMultivariant({ ...state, encryption: null }));
  });
});

describe("LL-HLS playlists of an encrypted interactive stream", () => {
  function interactive(rotateEvery: number, to: number): LiveWindowState {
    const state = createLiveWindow({ mode: "interactive", encryption: encryption(rotateEvery) });
    addLadder(state);
    for (const r of ["360p", "240p", "160p"]) feedLowLatency(state, r, 0, to);
    return state;
  }

  it("names the key before the first part of a segment that opens a key period (§4.4.4.9)", () => {
    const state = interactive(2, 9);
    // Segment 10 opens key 5; two of its parts are in.
    addPart(state, "360p", partMeta(10, 0));
    addPart(state, "360p", partMeta(10, 1));
    const { text, playlist } = render(state);
    checkKeyScopes(text, 2);
    const tail = lines(text);
    const first = tail.indexOf('#EXT-X-PART:DURATION=0.500,URI="1/part-10.0.m4s",INDEPENDENT=YES');
    expect(tail[first - 1]).toBe(`#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}5.key"`);
    // Completed segments that keep their parts: the key comes before their first part too.
    const eight = tail.indexOf('#EXT-X-PART:DURATION=0.500,URI="1/part-8.0.m4s",INDEPENDENT=YES');
    expect(tail[eight - 1]).toBe(`#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}4.key"`);
    const inProgress = playlist.segments.at(-1)!;
    expect(inProgress.parts.map((p) => p.uri)).toEqual(["1/part-10.0.m4s", "1/part-10.1.m4s", "1/part-10.2.m4s"]);
    expect(inProgress.key?.uri).toBe(`${PREFIX}5.key`);
  });

  it("names the next period's key before a preload hint that opens it", () => {
    const state = interactive(5, 9);
    const { text } = render(state);
    // Segment 9 done; the hint is part 0 of segment 10, which opens key 2.
    expect(
      lines(text)
        .filter((l) => l.startsWith("#EXT-X-KEY") || l.startsWith("#EXT-X-PRELOAD-HINT"))
        .slice(-2),
    ).toEqual([`#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}2.key"`, '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="1/part-10.0.m4s"']);
    checkKeyScopes(text, 5);
  });

  it("names the key of the first segment after EXT-X-SKIP in a delta update", () => {
    const state = interactive(4, 19);
    const full = render(state);
    const delta = render(state, { skip: true });
    expect(delta.playlist.skip).toBe(8);
    expect(delta.playlist.segments[0]?.mediaSequenceNumber).toBe(13);
    const at = lines(delta.text).indexOf("#EXT-X-SKIP:SKIPPED-SEGMENTS=8");
    expect(lines(delta.text).slice(at + 1, at + 3)).toEqual(['#EXT-X-MAP:URI="1/init.mp4"', `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}3.key"`]);
    checkKeyScopes(delta.text, 4);
    checkKeyScopes(full.text, 4);
    expect(delta.playlist.segments.map((s) => s.key?.uri)).toEqual(full.playlist.segments.slice(8).map((s) => s.key?.uri));
  });

  it("puts discontinuity, clear map and key before the parts of a segment that starts a new epoch", () => {
    const state = interactive(10, 19);
    addInit(state, "360p", initMeta(2), { firstMsn: 20 });
    addPart(state, "360p", partMeta(20, 0, { epoch: 2 }));
    const { text, playlist } = render(state);
    expect(lines(text).slice(-8, -2)).toEqual([
      "#EXT-X-DISCONTINUITY",
      CLEAR_KEY_TAG,
      '#EXT-X-MAP:URI="2/init.mp4"',
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}2.key"`,
      '#EXT-X-PART:DURATION=0.500,URI="2/part-20.0.m4s",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="2/part-20.1.m4s"',
    ]);
    checkKeyScopes(text, 10);
    expect(playlist.segments.at(-1)).toMatchObject({ discontinuity: true, key: { uri: `${PREFIX}2.key` } });
  });

  it("lists gaps under their period's key like any segment", () => {
    const state = createLiveWindow({ mode: "low", encryption: encryption(2) });
    addInit(state, "360p", initMeta(1), { firstMsn: 3 });
    addSegment(state, "360p", segmentMeta(3));
    addSegment(state, "360p", segmentMeta(5));
    addSegment(state, "360p", segmentMeta(6));
    addSegment(state, "360p", segmentMeta(7));
    const { text, playlist } = render(state);
    expect(playlist.segments.map((s) => [s.mediaSequenceNumber, s.gap ?? false])).toEqual([
      [3, false],
      [4, true],
      [5, false],
      [6, false],
      [7, false],
    ]);
    checkKeyScopes(text, 2);
  });
});

describe("on-demand playlists of an encrypted broadcast", () => {
  function recorded(msn: number, epoch: number): RecordedSegment {
    return { rendition: "360p", msn, epoch, duration: 2, programDateTime: new Date(T0 + msn * 2000).toISOString() };
  }

  it("name the session's keys per period, clear maps, and again after every discontinuity", () => {
    const segments = [0, 1, 2, 3, 4].map((msn) => recorded(msn, 1)).concat([5, 6].map((msn) => recorded(msn, 2)));
    const text = renderAssetMedia(STREAM, segments, "", { rotateEvery: 4, keyUriPrefix: PREFIX });
    const playlist = parse(text);
    expect(playlist.endlist).toBe(true);
    expect(playlist.segments.map((s) => [s.mediaSequenceNumber, s.key?.uri])).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((msn) => [msn, `${PREFIX}${Math.floor(msn / 4)}.key`]),
    );
    expect(checkKeyScopes(text, 4)).toEqual([`${PREFIX}0.key`, `${PREFIX}1.key`, `${PREFIX}1.key`]);
    // The reconnect (epoch 2 at msn 5): key scope ended before its map, key named again after it.
    const at = lines(text).indexOf("#EXT-X-DISCONTINUITY");
    expect(lines(text).slice(at, at + 4)).toEqual([
      "#EXT-X-DISCONTINUITY",
      CLEAR_KEY_TAG,
      `#EXT-X-MAP:URI="/live/${STREAM}/360p/2/init.mp4"`,
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}1.key"`,
    ]);
  });

  it("give each segment after a hole an explicit IV (its msn), since the implied sequence number no longer is", () => {
    const segments = [0, 1, 2].map((msn) => recorded(msn, 1)).concat([5, 6].map((msn) => recorded(msn, 1)));
    const text = renderAssetMedia(STREAM, segments, "", { rotateEvery: 4, keyUriPrefix: PREFIX });
    expect(lines(text).filter((l) => l.startsWith("#EXT-X-KEY") || l === "#EXT-X-DISCONTINUITY")).toEqual([
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}0.key"`,
      "#EXT-X-DISCONTINUITY",
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}1.key",IV=0x00000000000000000000000000000005`,
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}1.key",IV=0x00000000000000000000000000000006`,
    ]);
    checkKeyScopes(text, 4);
    const playlist = parse(text);
    expect(playlist.segments.map((s) => s.mediaSequenceNumber)).toEqual([0, 1, 2, 3, 4]);
    expect(playlist.segments.at(-1)?.key?.iv).toBeDefined();
  });

  it("carry the playback query on key URIs, and no key tags for a clear broadcast", () => {
    const segments = [0, 1].map((msn) => recorded(msn, 1));
    expect(renderAssetMedia(STREAM, segments, "token=t", { rotateEvery: 10, keyUriPrefix: PREFIX })).toContain(
      `#EXT-X-KEY:METHOD=AES-128,URI="${PREFIX}0.key?token=t"`,
    );
    expect(renderAssetMedia(STREAM, segments)).not.toContain("#EXT-X-KEY");
  });
});

describe("keyTagWriter", () => {
  it("writes nothing for a clear stream, and METHOD=NONE before a map only while a key is in effect", () => {
    const clear = keyTagWriter(null);
    expect([clear.beforeMap(), clear.before(0), clear.before(50)]).toEqual([[], [], []]);
    const keys = keyTagWriter({ rotateEvery: 2, keyUriPrefix: "/k/" }, "?token=x");
    expect(keys.beforeMap()).toEqual([]);
    expect(keys.before(0)).toEqual([keyTag({ rotateEvery: 2, keyUriPrefix: "/k/" }, 0, "?token=x")]);
    expect(keys.before(1)).toEqual([]);
    expect(keys.before(2)).toEqual(['#EXT-X-KEY:METHOD=AES-128,URI="/k/1.key?token=x"']);
    keys.restart();
    expect(keys.beforeMap()).toEqual([CLEAR_KEY_TAG]);
    expect(keys.before(3)).toEqual(['#EXT-X-KEY:METHOD=AES-128,URI="/k/1.key?token=x"']);
  });
});

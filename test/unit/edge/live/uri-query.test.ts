// withUriQuery: a signed viewer's token added at the edge to the shared token-free playlist gives exactly the text the
// stream's object would have rendered for that token, in every playlist kind (master, plain, LL-HLS, delta, encrypted,
// a long DVR window), from a text split once and kept (a bounded number of them).
import { describe, expect, it } from "vitest";
import { renderMedia, renderMultivariant } from "../../../../edge/src/live/playlist.ts";
import { DvrHistory } from "../../../../edge/src/live/dvr-history.ts";
import { keptSplits, MAX_SPLIT_CHARS, MAX_SPLIT_TEXTS, MIN_KEPT_TEXT_LENGTH, withUriQuery } from "../../../../edge/src/live/uri-query.ts";
import { addPart, createLiveWindow, end, type LiveWindowState, type WindowEncryption } from "../../../../edge/src/live/window.ts";
import { SyntheticBroadcast } from "./dvr-fixtures.ts";
import { addLadder, feedLowLatency, feedSegments, partMeta } from "./fixtures.ts";

const TOKEN = "token=1780000000.abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456_-";
const ENCRYPTION: WindowEncryption = {
  method: "AES-128",
  sessionId: "0b7d1c4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e",
  rotateEvery: 2,
  keyUriPrefix: "/live/s/keys/0b7d1c4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e/",
};

function interactive(encryption: WindowEncryption | null = null): LiveWindowState {
  const state = createLiveWindow({ mode: "interactive", encryption });
  addLadder(state);
  for (const r of ["360p", "240p", "160p"]) feedLowLatency(state, r, 0, 29);
  addPart(state, "360p", partMeta(30, 0));
  return state;
}

describe("withUriQuery", () => {
  it("gives the text the object renders with the token, for every playlist kind", () => {
    const low = createLiveWindow({ mode: "low", encryption: ENCRYPTION });
    addLadder(low);
    feedSegments(low, "360p", 0, 7);
    const ll = interactive();
    const llEncrypted = interactive(ENCRYPTION);
    const cases: Array<[string, (q?: string) => string | null]> = [
      ["master", (uriQuery) => renderMultivariant(ll, { uriQuery })],
      ["low, encrypted", (uriQuery) => renderMedia(low, "360p", { uriQuery })],
      ["interactive", (uriQuery) => renderMedia(ll, "360p", { uriQuery })],
      ["interactive delta update", (uriQuery) => renderMedia(ll, "360p", { uriQuery, skip: true })],
      ["interactive, encrypted", (uriQuery) => renderMedia(llEncrypted, "240p", { uriQuery })],
    ];
    for (const [name, render] of cases) {
      const plain = render()!;
      expect(plain, name).not.toContain("token=");
      expect(withUriQuery(plain, TOKEN), name).toBe(render(TOKEN));
    }
    // Every URI kind is among them: map, parts, preload hint, rendition reports, keys, segments, variants.
    const all = withUriQuery(renderMedia(llEncrypted, "360p")!, TOKEN);
    for (const tag of ["#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:", "#EXT-X-RENDITION-REPORT:", "#EXT-X-KEY:METHOD=AES-128"]) {
      expect(all, tag).toMatch(new RegExp(`${tag}[^\\n]*URI="[^"]+\\?${TOKEN.replace(/[.?]/g, "\\$&")}"`));
    }
  });

  it("leaves tags without URIs, ended playlists' ENDLIST and a null query alone; appends with & after a query", () => {
    const state = createLiveWindow({ mode: "low" });
    addLadder(state);
    feedSegments(state, "360p", 0, 3);
    end(state);
    const text = renderMedia(state, "360p")!;
    expect(withUriQuery(text, null)).toBe(text);
    const signed = withUriQuery(text, "token=t");
    const tags = (t: string) => t.split("\n").filter((l) => l.startsWith("#") && !l.includes("URI="));
    expect(tags(signed)).toEqual(tags(text));
    expect(signed).toContain("#EXT-X-ENDLIST\n");
    expect(withUriQuery('#EXT-X-MAP:URI="1/init.mp4?a=1"\n1/seg-0.m4s?a=1\n', "token=t")).toBe(
      '#EXT-X-MAP:URI="1/init.mp4?a=1&token=t"\n1/seg-0.m4s?a=1&token=t\n',
    );
    expect(() => withUriQuery(text, 'a"b')).toThrow(RangeError);
    expect(() => withUriQuery(text, "a b")).toThrow(RangeError);
  });

  it("a long DVR playlist: split once and kept, every answer (shared text, equal text, another token) as the object renders it", () => {
    const b = new SyntheticBroadcast({ mode: "interactive", dvrSegments: 300, encryption: ENCRYPTION });
    for (let msn = 0; msn < 320; msn += 1) b.segment(msn);
    b.partsAfter(319);
    const history = new DvrHistory(b.recording);
    const render = (uriQuery?: string) => renderMedia(b.live, "360p", { uriQuery, history: history.history(b.live, "360p", uriQuery) })!;
    const plain = render();
    expect(plain.length).toBeGreaterThan(MIN_KEPT_TEXT_LENGTH);
    expect(withUriQuery(plain, TOKEN)).toBe(render(TOKEN));
    // The same text again, an equal text from another call, and another viewer's token: the kept split serves all three.
    expect(withUriQuery(plain, TOKEN)).toBe(render(TOKEN));
    expect(withUriQuery(Buffer.from(plain).toString(), TOKEN)).toBe(render(TOKEN));
    expect(withUriQuery(plain, "token=other")).toBe(render("token=other"));
  });

  it("keeps at most MAX_SPLIT_CHARS characters of texts, the oldest going first; a longer text is split and not kept", () => {
    const sized = (i: number, chars: number) => `#EXTM3U\n#EXT-X-MAP:URI="${i}/init.mp4"\n${"#EXTINF:2.000,\nseg.m4s\n".repeat(Math.ceil(chars / 23))}`;
    const third = Math.floor(MAX_SPLIT_CHARS / 3);
    for (let i = 0; i < 5; i += 1) expect(withUriQuery(sized(i, third), "t=1")).toContain(`"${i}/init.mp4?t=1"`);
    expect(keptSplits().texts).toBe(2);
    expect(keptSplits().chars).toBeLessThanOrEqual(MAX_SPLIT_CHARS);
    const huge = sized(9, MAX_SPLIT_CHARS + 10);
    expect(withUriQuery(huge, "t=2").endsWith("seg.m4s?t=2\n")).toBe(true);
    expect(keptSplits().chars).toBeLessThanOrEqual(MAX_SPLIT_CHARS);
    expect(keptSplits().texts).toBe(2);
  });

  it("keeps at most MAX_SPLIT_TEXTS texts, the oldest going first", () => {
    const long = (i: number) => `#EXTM3U\n#EXT-X-MAP:URI="${i}/init.mp4"\n${"#EXTINF:2.000,\nseg.m4s\n".repeat(MIN_KEPT_TEXT_LENGTH / 20)}`;
    for (let i = 0; i < MAX_SPLIT_TEXTS + 5; i += 1) expect(withUriQuery(long(i), "t=1")).toContain(`"${i}/init.mp4?t=1"`);
    expect(keptSplits().texts).toBe(MAX_SPLIT_TEXTS);
    // The newest is still kept and still right; an evicted one is split again and just as right.
    expect(withUriQuery(long(MAX_SPLIT_TEXTS + 4), "t=2")).toBe(
      long(MAX_SPLIT_TEXTS + 4)
        .replaceAll(".mp4", ".mp4?t=2")
        .replaceAll("seg.m4s", "seg.m4s?t=2"),
    );
    expect(withUriQuery(long(0), "t=3")).toBe(long(0).replaceAll(".mp4", ".mp4?t=3").replaceAll("seg.m4s", "seg.m4s?t=3"));
    expect(keptSplits().texts).toBe(MAX_SPLIT_TEXTS);
  });
});

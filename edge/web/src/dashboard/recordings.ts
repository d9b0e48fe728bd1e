// A stream's VODs and clips: play a VOD, mark in and out points on its player and make a clip of that range, play a
// clip, delete either.
import type { Clip, Vod } from "../api/client.ts";
import { type App, actionButton, showError } from "./app.ts";
import { duration, field, h, when } from "./dom.ts";
import { type Player, playHls } from "./hls-player.ts";

/** The API's longest clip, seconds. */
const MAX_CLIP_S = 60;
const REFRESH_MS = 4000;

/** The recordings section and what its page calls when a broadcast ends (a VOD is on its way). */
export interface Recordings {
  element: HTMLElement;
  refresh(): Promise<void>;
}

/** The VODs and clips section of a stream's page. */
export function recordingsSection(app: App, streamId: string): Recordings {
  const errors = h("div", { className: "errors" });
  const vodList = h("ul", { className: "assets", id: "vods" });
  const clipList = h("ul", { className: "assets", id: "clips" });
  const vodState = h("p", { className: "muted", attrs: { role: "status" } }, "Loading…");
  const clipState = h("p", { className: "muted", attrs: { role: "status" } }, "Loading…");

  // One player for whatever is being watched, with the clip editor under it while a VOD plays.
  const video = h("video", { id: "asset-player", controls: true, playsInline: true, muted: true, attrs: { "aria-label": "Recording player" } });
  const nowPlaying = h("p", { id: "now-playing", className: "muted" });
  const playerBox = h("div", { className: "player", hidden: true }, nowPlaying, video);
  const editor = h("form", { className: "clip-editor", hidden: true, attrs: { "aria-label": "Make a clip" } });
  let player: Player | null = null;
  let playingVod: Vod | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const play = (label: string, url: string, vod: Vod | null) => {
    player?.stop();
    playerBox.hidden = false;
    nowPlaying.textContent = `Playing ${label}`;
    player = playHls(video, url, { onFatal: (details) => showError(errors, new Error(`Playback failed: ${details}`)) });
    playingVod = vod;
    editor.hidden = vod === null;
    if (vod) resetEditor();
  };
  app.scope.onDispose(() => {
    player?.stop();
    clearTimeout(timer);
  });

  // The clip editor: in and out are the player's position when the buttons are pressed.
  const inPoint = h("input", { type: "number", name: "in", min: "0", step: "0.1", value: "0", required: true });
  const outPoint = h("input", { type: "number", name: "out", min: "0", step: "0.1", value: "10", required: true });
  const clipTitle = h("input", { name: "clip_title", maxLength: 200 });
  const markIn = h("button", { type: "button", textContent: "Set in to player position", className: "secondary" });
  const markOut = h("button", { type: "button", textContent: "Set out to player position", className: "secondary" });
  const make = h("button", { type: "submit", textContent: "Make clip" });
  const resetEditor = () => {
    inPoint.value = "0";
    outPoint.value = String(Math.min(10, playingVod?.duration_s ?? 10));
  };
  markIn.addEventListener("click", () => {
    inPoint.value = video.currentTime.toFixed(1);
  });
  markOut.addEventListener("click", () => {
    outPoint.value = video.currentTime.toFixed(1);
  });
  editor.append(
    h("h3", {}, "Make a clip of this VOD"),
    h("div", { className: "grid" }, field("In (s)", inPoint), field("Out (s)", outPoint, `At most ${MAX_CLIP_S} s after in.`), field("Clip title", clipTitle)),
    h("div", { className: "row" }, markIn, markOut, make),
  );
  editor.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!playingVod) return;
    errors.replaceChildren();
    const start = Number(inPoint.value);
    const end = Number(outPoint.value);
    if (!(end > start) || end - start > MAX_CLIP_S) {
      showError(errors, new Error(`Out must be after in, by at most ${MAX_CLIP_S} s.`));
      return;
    }
    make.disabled = true;
    try {
      const clip = await app.api.createClip(streamId, {
        vod_id: playingVod.vod_id,
        start_offset: start,
        duration: Math.round((end - start) * 10) / 10,
        ...(clipTitle.value.trim() ? { title: clipTitle.value.trim() } : {}),
      });
      app.notify(`Clip made (${duration(clip.duration_s)})`);
      await refresh();
    } catch (error) {
      showError(errors, error);
    } finally {
      make.disabled = false;
    }
  });

  const vodItem = (vod: Vod) =>
    h(
      "li",
      { dataset: { vodId: vod.vod_id, status: vod.status } },
      h("span", {}, `${when(vod.started_at)} · ${duration(vod.duration_s)} · ${vod.status}`),
      vod.status === "ready" ? playButton(`VOD of ${when(vod.started_at)}`, () => play(`the VOD of ${when(vod.started_at)}`, vod.playback_url, vod)) : null,
      vod.status === "ready" ? h("a", { href: vod.download_url, textContent: "MP4" }) : null,
      deleteButton("VOD", errors, async () => {
        await app.api.deleteVod(vod.vod_id);
        if (playingVod?.vod_id === vod.vod_id) {
          player?.stop();
          playerBox.hidden = editor.hidden = true;
        }
        await refresh();
      }),
    );
  const clipItem = (clip: Clip) =>
    h(
      "li",
      { dataset: { clipId: clip.clip_id, status: clip.status } },
      h("span", {}, `${clip.title ?? "Untitled clip"} · ${duration(clip.duration_s)} · ${clip.status}`),
      clip.status === "ready" ? playButton(`clip ${clip.title ?? ""}`, () => play(`the clip ${clip.title ?? ""}`, clip.playback_url, null)) : null,
      clip.status === "ready" ? h("a", { href: clip.download_url, textContent: "MP4" }) : null,
      deleteButton("clip", errors, async () => {
        await app.api.deleteClip(clip.clip_id);
        await refresh();
      }),
    );

  let shown = "";
  async function refresh(): Promise<void> {
    clearTimeout(timer);
    try {
      const [{ vods }, { clips }] = await Promise.all([app.api.listVods(streamId), app.api.listClips(streamId)]);
      if (app.scope.gone) return;
      // Re-rendered only when something changed, so a focused button stays focused between polls.
      const seen = JSON.stringify([vods, clips]);
      if (seen === shown) return;
      shown = seen;
      vodList.replaceChildren(...vods.map(vodItem));
      clipList.replaceChildren(...clips.map(clipItem));
      vodState.textContent = vods.length ? "" : "No VODs yet: a recorded broadcast becomes one when it ends.";
      clipState.textContent = clips.length ? "" : "No clips yet: play a VOD and make one.";
      // A VOD or clip being written: look again shortly.
      if ([...vods, ...clips].some((a) => a.status === "processing")) timer = setTimeout(() => void refresh(), 2000);
    } catch (error) {
      showError(errors, error);
    }
  }
  void refresh();
  // A broadcast's VOD appears a little after the stream turns offline (the node flushes its last media first).
  app.scope.every(REFRESH_MS, refresh);

  const element = h(
    "section",
    { className: "card", attrs: { "aria-labelledby": "recordings-title" } },
    h("h2", { id: "recordings-title" }, "VODs and clips"),
    errors,
    h("h3", {}, "VODs"),
    vodState,
    vodList,
    h("h3", {}, "Clips"),
    clipState,
    clipList,
    playerBox,
    editor,
  );
  return { element, refresh };
}

function playButton(what: string, onClick: () => void): HTMLButtonElement {
  const button = h("button", { type: "button", textContent: "Play", className: "secondary", attrs: { "aria-label": `Play ${what}` } });
  button.addEventListener("click", onClick);
  return button;
}

function deleteButton(what: string, errors: HTMLElement, remove: () => Promise<void>): HTMLButtonElement {
  const button = actionButton(
    "Delete",
    errors,
    async () => {
      if (window.confirm(`Delete this ${what}? Its media goes with it.`)) await remove();
    },
    "danger",
  );
  button.setAttribute("aria-label", `Delete ${what}`);
  return button;
}

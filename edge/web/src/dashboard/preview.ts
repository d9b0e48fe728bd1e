// A stream's live preview (hls.js, muted) and the links viewers use: the watch page, the master playlist, and for a
// signed stream a link that carries a fresh playback token.
import type { Stream } from "../api/client.ts";
import { type App, copyButton, showError } from "./app.ts";
import { h } from "./dom.ts";
import { type Player, playHls } from "./hls-player.ts";

/** The preview section and what its page calls when the stream goes live or offline. */
export interface Preview {
  element: HTMLElement;
  setLive(live: boolean): void;
}

/** The preview section of a stream's page. */
export function previewSection(app: App, stream: Stream): Preview {
  const video = h("video", { id: "preview", muted: true, playsInline: true, controls: true, attrs: { "aria-label": "Live preview (muted)" } });
  const state = h("p", { className: "muted", attrs: { role: "status" } }, "Offline: the preview starts when the stream goes live.");
  const errors = h("div", { className: "errors" });
  const links = h("dl", { className: "pairs" });
  const signed = stream.playback_policy === "signed";
  let manifest = stream.playback_manifest_url;
  let watch = `${location.origin}/watch/${stream.stream_id}`;
  let player: Player | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const link = (label: string, id: string, href: string) => [
    h("dt", {}, label),
    h(
      "dd",
      {},
      h("a", { id, href, textContent: href, target: "_blank", rel: "noopener" }),
      copyButton(label, () => href, app),
    ),
  ];
  const showLinks = () => {
    links.replaceChildren(
      ...link(signed ? "Signed watch page" : "Watch page", "watch-link", watch),
      ...link(signed ? "Signed master playlist" : "Master playlist", "master-link", manifest),
    );
  };
  showLinks();
  // A signed stream plays only with a token: mint one for the preview and the links (it expires in an hour).
  const ready: Promise<void> = signed
    ? app.api.playbackToken(stream.stream_id).then(
        (token) => {
          manifest = token.playback_url;
          watch = token.watch_url;
          showLinks();
        },
        (error) => showError(errors, error),
      )
    : Promise.resolve();

  const stop = () => {
    clearTimeout(retry);
    player?.stop();
    player = null;
  };
  const start = async () => {
    await ready;
    if (player || app.scope.gone) return;
    state.textContent = "Live: loading the preview…";
    player = playHls(video, manifest, {
      lowLatency: stream.latency_mode === "interactive",
      // The first playlist may not be there yet right after going live: try again shortly.
      onFatal: (details) => {
        stop();
        state.textContent = `Preview waiting for the stream (${details})…`;
        retry = setTimeout(() => void start(), 3000);
      },
    });
  };
  video.addEventListener("playing", () => {
    state.textContent = "Live preview playing (muted).";
  });
  app.scope.onDispose(stop);

  const element = h(
    "section",
    { className: "card", attrs: { "aria-labelledby": "preview-title" } },
    h("h2", { id: "preview-title" }, "Preview and links"),
    video,
    state,
    errors,
    links,
  );
  return {
    element,
    setLive(live) {
      if (live) void start();
      else {
        stop();
        state.textContent = "Offline: the preview starts when the stream goes live.";
      }
    },
  };
}

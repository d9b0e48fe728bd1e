// A stream's page: its status (polled while open, so going live or offline shows), start and stop, then the
// sections: go live, preview and links, health, VODs and clips.
import type { Stream, StreamStatus } from "../api/client.ts";
import { type App, actionButton, showError } from "./app.ts";
import { h } from "./dom.ts";
import { goLiveSection } from "./go-live.ts";
import { healthSection } from "./health-charts.ts";
import { previewSection } from "./preview.ts";
import { recordingsSection } from "./recordings.ts";

const STATUS_POLL_MS = 2000;

/** The page of stream `streamId`. */
export function streamView(app: App, streamId: string): HTMLElement {
  const page = h("section", { className: "stream-page", attrs: { "aria-busy": "true" } }, h("p", { attrs: { role: "status" } }, "Loading the stream…"));
  app.api
    .getStream(streamId)
    .then((stream) => {
      if (app.scope.gone) return;
      page.replaceChildren(...streamPage(app, stream));
      page.removeAttribute("aria-busy");
    })
    .catch((error) => {
      page.removeAttribute("aria-busy");
      page.replaceChildren(h("h1", {}, "Stream"), h("p", {}, h("a", { href: "#/streams" }, "← All streams")));
      showError(page.appendChild(h("div")), error);
    });
  return page;
}

function streamPage(app: App, stream: Stream): HTMLElement[] {
  document.title = `${stream.title} · edgecast`;
  const errors = h("div", { className: "errors" });
  const badge = h("span", { id: "stream-status", className: `badge ${stream.status}`, textContent: stream.status === "live" ? "Live" : "Offline" });
  const figures = h("span", { id: "stream-figures", className: "muted" });
  const preview = previewSection(app, stream);
  const recordings = recordingsSection(app, stream.stream_id);
  let live: boolean | null = null;
  let previewing = false;

  const show = (status: StreamStatus) => {
    const isLive = status.status === "live";
    badge.textContent = isLive ? (status.health.ingest_connected ? "Live" : "Live (publisher disconnected)") : "Offline";
    badge.className = `badge ${status.status}`;
    figures.textContent = isLive
      ? `${status.viewers} ${status.viewers === 1 ? "viewer" : "viewers"} · ${Math.round(status.bitrate_kbps)} kbit/s · ${status.renditions.length} renditions · ${status.region}`
      : `region ${status.region}`;
    if (live !== null && live !== isLive) {
      app.notify(isLive ? "The stream is live" : "The stream went offline");
      // A recorded broadcast that ended becomes a VOD: show it as it is being written.
      if (!isLive) void recordings.refresh();
    }
    // The preview waits for the first listed segment (a publish makes the stream live a moment before that).
    const playable = isLive && status.renditions.length > 0 && status.health.last_segment_age_s !== null;
    if (playable !== previewing) preview.setLive(playable);
    previewing = playable;
    live = isLive;
  };
  const poll = async () => {
    try {
      show(await app.api.status(stream.stream_id));
    } catch (error) {
      showError(errors, error);
    }
  };
  void poll();
  app.scope.every(STATUS_POLL_MS, poll);

  const start = actionButton("Start", errors, async () => {
    await app.api.start(stream.stream_id);
    await poll();
  });
  const stop = actionButton(
    "Stop",
    errors,
    async () => {
      await app.api.stop(stream.stream_id);
      app.notify("Stopping: the publisher is disconnected once its last segment is in");
      await poll();
    },
    "danger",
  );

  return [
    h("p", {}, h("a", { href: "#/streams" }, "← All streams")),
    h("header", { className: "stream-head" }, h("h1", {}, stream.title), badge, figures, h("div", { className: "row" }, start, stop)),
    h(
      "p",
      { className: "muted" },
      `${stream.latency_mode} latency · ${stream.playback_policy} playback · ${stream.record ? "recorded" : "not recorded"}${stream.tags.length ? ` · tags: ${stream.tags.join(", ")}` : ""}`,
    ),
    errors,
    goLiveSection(app, stream),
    preview.element,
    healthSection(app, stream.stream_id),
    recordings.element,
  ];
}

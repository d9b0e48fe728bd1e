// "Go live from this browser": camera and microphone published over WHIP to the stream's ingest node, with a preview
// and a stop button. Registered as a go-live extra; shown when the node offers WHIP (`whip_url`).
import { publishWhip, type WhipPublish } from "../whip-publisher.ts";
import { actionButton } from "./app.ts";
import { h } from "./dom.ts";
import { GO_LIVE_EXTRAS, type GoLiveContext } from "./go-live.ts";

/** The browser publisher's part of a stream's go-live section, or null when its node offers no WHIP. */
export function browserGoLive({ app, stream, key }: GoLiveContext): HTMLElement | null {
  const whipUrl = stream.whip_url;
  if (!whipUrl) return null;
  const errors = h("div", { className: "errors" });
  const state = h("p", { id: "browser-publish-state", className: "muted", attrs: { role: "status" } });
  const preview = h("video", {
    id: "browser-preview",
    muted: true,
    autoplay: true,
    playsInline: true,
    hidden: true,
    attrs: { "aria-label": "Camera preview" },
  });
  let publish: WhipPublish | null = null;

  const stop = actionButton("Stop publishing from this browser", errors, async () => {
    const current = publish;
    publish = null;
    await current?.stop();
    show();
    app.notify("Stopped publishing from this browser");
  });
  const start = actionButton("Go live from this browser", errors, async () => {
    const streamKey = key();
    if (!streamKey) throw new Error("This tab does not know the stream key: rotate it to get one, then go live.");
    state.textContent = "Asking for the camera and microphone…";
    try {
      publish = await publishWhip({ url: whipUrl, streamKey });
    } finally {
      show();
    }
    preview.srcObject = publish.stream;
    app.notify("Publishing from this browser");
  });
  const show = () => {
    const live = publish !== null;
    start.hidden = live;
    stop.hidden = !live;
    preview.hidden = !live;
    if (!live) preview.srcObject = null;
    state.textContent = live
      ? "Sending your camera and microphone (WebRTC). Keep this tab open."
      : key()
        ? "Camera and microphone, straight from this tab: nothing to install."
        : "Needs the stream key, which this tab knows only after creating the stream or rotating its key.";
  };
  // Leaving the page ends the publish (the DELETE is sent with keepalive).
  app.scope.onDispose(() => void publish?.stop());
  show();
  return h("div", { className: "browser-go-live" }, h("h3", {}, "From this browser"), state, h("div", { className: "actions" }, start, stop), preview, errors);
}

GO_LIVE_EXTRAS.push(browserGoLive);

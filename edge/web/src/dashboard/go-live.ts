// "Go live": the server URL and stream key with copy buttons (the key hidden until revealed), key rotation behind a
// confirmation, the OBS settings that matter and the ffmpeg command. Other ways to publish (a browser publisher, SRT)
// add themselves to GO_LIVE_EXTRAS.
import type { Stream } from "../api/client.ts";
import { type App, actionButton, copyButton } from "./app.ts";
import { h } from "./dom.ts";

/** What a go-live extra gets: the stream, its key when this tab knows it, and the app. */
export interface GoLiveContext {
  app: App;
  stream: Stream;
  /** The stream key from this tab's create or rotate answer, else null (the API never shows it again). */
  key(): string | null;
}

/** More ways to go live, each rendered at the end of the section (null: nothing for this stream). */
export const GO_LIVE_EXTRAS: ((context: GoLiveContext) => HTMLElement | null)[] = [];

const MASK = "••••••••••••••••••••••••";

/** The go-live section of a stream's page. */
export function goLiveSection(app: App, stream: Stream): HTMLElement {
  const key = () => app.keys.get(stream.stream_id) ?? null;
  const errors = h("div", { className: "errors" });
  const keyText = h("code", { id: "stream-key", className: "secret", textContent: MASK });
  let revealed = false;
  const reveal = h("button", { type: "button", className: "secondary", attrs: { "aria-controls": "stream-key", "aria-pressed": "false" } });
  const copyKey = copyButton("stream key", () => key() ?? "", app);
  const keyNote = h("p", { className: "muted" });
  const ffmpeg = h("code", { id: "ffmpeg-command" });

  const showKey = () => {
    const known = key();
    keyText.textContent = known && revealed ? known : known ? MASK : "not shown: keys are only shown when created or rotated";
    reveal.textContent = revealed ? "Hide" : "Reveal";
    reveal.setAttribute("aria-pressed", String(revealed));
    reveal.hidden = copyKey.hidden = known === null;
    keyNote.textContent = known ? "Keep it secret: anyone with the key can broadcast as you." : "Rotate the key to get a new one (the old one stops working).";
    const publishUrl = `${stream.ingest_server}/${known && revealed ? known : "<stream key>"}`;
    ffmpeg.textContent = `ffmpeg -re -i input.mp4 -c:v libx264 -preset veryfast -g 60 -keyint_min 60 -c:a aac -b:a 128k -f flv "${publishUrl}"`;
  };
  reveal.addEventListener("click", () => {
    revealed = !revealed;
    showKey();
  });
  const rotate = actionButton(
    "Rotate key…",
    errors,
    async () => {
      if (!window.confirm("Rotate the stream key? The current key stops working at once, and a publisher using it is disconnected.")) return;
      const rotated = await app.api.rotateKey(stream.stream_id);
      if (rotated.stream_key) app.keys.set(stream.stream_id, rotated.stream_key);
      revealed = false;
      showKey();
      app.notify("Stream key rotated: the old key no longer works");
    },
    "danger",
  );
  showKey();

  const extras = GO_LIVE_EXTRAS.map((extra) => extra({ app, stream, key })).filter((el) => el !== null);
  return h(
    "section",
    { className: "card", attrs: { "aria-labelledby": "go-live-title" } },
    h("h2", { id: "go-live-title" }, "Go live"),
    h(
      "dl",
      { className: "pairs" },
      h("dt", {}, "Server"),
      h(
        "dd",
        {},
        h("code", { id: "ingest-server", textContent: stream.ingest_server }),
        copyButton("server URL", () => stream.ingest_server, app),
      ),
      h("dt", {}, "Stream key"),
      h("dd", {}, keyText, reveal, copyKey, rotate),
    ),
    keyNote,
    errors,
    h("h3", {}, "OBS"),
    h(
      "ul",
      {},
      h("li", {}, "Settings → Stream: Service ", h("strong", {}, "Custom…"), ", the server and key above."),
      h(
        "li",
        {},
        "Settings → Output: keyframe interval ",
        h("strong", {}, "2 s"),
        " (the copied source rendition needs it), x264 or hardware H.264, AAC audio.",
      ),
      h("li", {}, "Video: your canvas at up to 1080p, 30 or 60 fps; a bitrate your upload sustains (e.g. 4,500 kbit/s for 1080p30)."),
    ),
    h("h3", {}, "ffmpeg"),
    h(
      "div",
      { className: "command" },
      ffmpeg,
      copyButton("ffmpeg command", () => ffmpeg.textContent ?? "", app),
    ),
    ...extras,
  );
}

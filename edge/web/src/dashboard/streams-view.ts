// The streams page: a filtered list (status, viewers, region, latency mode) that refreshes while open, and the form
// that creates a stream.
import type { Stream, StreamCreate, StreamQuery } from "../api/client.ts";
import { type App, showError } from "./app.ts";
import { field, h, select, when } from "./dom.ts";

const LIST_REFRESH_MS = 5000;
const LATENCY_MODES = [
  ["low", "Low (2 s segments)"],
  ["interactive", "Interactive (LL-HLS)"],
  ["standard", "Standard (6 s segments)"],
] as const;

/** The streams page. */
export function streamsView(app: App): HTMLElement {
  document.title = "Streams · edgecast";
  const errors = h("div", { className: "errors" });
  const status = select("status", [
    ["", "Any status"],
    ["live", "Live"],
    ["offline", "Offline"],
  ]);
  const tag = h("input", { type: "search", name: "tag", placeholder: "e.g. music" });
  const filters = h("form", { className: "filters", attrs: { role: "search", "aria-label": "Filter streams" } }, field("Status", status), field("Tag", tag));
  const body = h("tbody");
  const table = h(
    "table",
    { className: "streams" },
    h("caption", { className: "visually-hidden" }, "Your streams"),
    h("thead", {}, h("tr", {}, ...["Title", "Status", "Viewers", "Region", "Latency mode", "Created"].map((label) => h("th", { scope: "col" }, label)))),
    body,
  );
  const listState = h("p", { className: "muted", attrs: { role: "status" } }, "Loading streams…");
  const more = h("button", { type: "button", textContent: "Load more", className: "secondary", hidden: true });
  let cursor: string | null = null;
  let shown: Stream[] = [];

  const query = (): StreamQuery => ({ status: (status.value || undefined) as StreamQuery["status"], tag: tag.value.trim() || undefined });

  async function viewersOf(streams: Stream[]): Promise<Map<string, number>> {
    // The list has no live figures: ask the live ones' status (offline streams have no viewers).
    const live = streams.filter((s) => s.status === "live");
    const answers = await Promise.all(live.map((s) => app.api.status(s.stream_id).catch(() => null)));
    return new Map(live.map((s, i) => [s.stream_id, answers[i]?.viewers ?? 0]));
  }

  function row(stream: Stream, viewers: number): HTMLTableRowElement {
    return h(
      "tr",
      { dataset: { streamId: stream.stream_id } },
      h("td", {}, h("a", { href: `#/streams/${stream.stream_id}`, textContent: stream.title })),
      h("td", {}, h("span", { className: `badge ${stream.status}`, textContent: stream.status === "live" ? "Live" : "Offline" })),
      h("td", { className: "number" }, String(viewers)),
      h("td", {}, stream.region),
      h("td", {}, stream.latency_mode),
      h("td", {}, when(stream.created_at)),
    );
  }

  async function load(append = false): Promise<void> {
    try {
      const page = await app.api.listStreams({ ...query(), ...(append && cursor ? { cursor } : {}) });
      if (app.scope.gone) return;
      shown = append ? shown.concat(page.streams) : page.streams;
      cursor = page.next_cursor;
      const viewers = await viewersOf(shown);
      if (app.scope.gone) return;
      body.replaceChildren(...shown.map((s) => row(s, viewers.get(s.stream_id) ?? 0)));
      listState.textContent = shown.length ? "" : query().status || query().tag ? "No stream matches these filters." : "No streams yet: create one below.";
      table.hidden = shown.length === 0;
      more.hidden = cursor === null;
      errors.replaceChildren();
    } catch (error) {
      showError(errors, error);
      listState.textContent = "";
    }
  }

  filters.addEventListener("submit", (event) => event.preventDefault());
  status.addEventListener("change", () => void load());
  tag.addEventListener("input", () => void load());
  more.addEventListener("click", () => void load(true));
  void load();
  // Refresh the page of streams shown (status and viewers change while it is open).
  app.scope.every(LIST_REFRESH_MS, () => (cursor === null || shown.length <= 20 ? load() : undefined));

  return h(
    "section",
    { attrs: { "aria-labelledby": "streams-title" } },
    h("h1", { id: "streams-title" }, "Streams"),
    filters,
    errors,
    listState,
    table,
    more,
    createForm(app),
  );
}

/** The create-stream form; on success the new stream's page opens with its key. */
function createForm(app: App): HTMLElement {
  const title = h("input", { name: "title", required: true, maxLength: 200 });
  const tags = h("input", { name: "tags", placeholder: "comma, separated" });
  const latency = select("latency_mode", LATENCY_MODES, "low");
  const region = select("region", [["", "Nearest (automatic)"]]);
  const record = h("input", { type: "checkbox", name: "record", checked: true, id: "create-record" });
  const policy = select("playback_policy", [
    ["public", "Public: anyone with the link"],
    ["signed", "Signed: links carry a token"],
  ]);
  const encryption = select("encryption", [
    ["none", "None"],
    ["aes-128", "AES-128 (keys from the edge)"],
  ]);
  const errors = h("div", { className: "errors" });
  const submit = h("button", { type: "submit", textContent: "Create stream" });
  app.api
    .regions()
    .then((answer) => {
      for (const r of answer.regions) region.add(new Option(r.region, r.region));
    })
    .catch(() => {
      // The automatic choice still works without the list.
    });
  const form = h(
    "form",
    { className: "card", attrs: { "aria-labelledby": "create-title" } },
    h("h2", { id: "create-title" }, "Create a stream"),
    h(
      "div",
      { className: "grid" },
      field("Title", title),
      field("Tags", tags),
      field("Latency mode", latency),
      field("Region", region),
      field("Playback", policy),
      field("Encryption", encryption),
    ),
    h("div", { className: "check" }, record, h("label", { htmlFor: record.id }, "Record broadcasts (a VOD when each ends)")),
    errors,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    errors.replaceChildren();
    const body: StreamCreate = {
      title: title.value.trim(),
      tags: tags.value
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
      latency_mode: latency.value as StreamCreate["latency_mode"],
      record: record.checked,
      playback_policy: policy.value as StreamCreate["playback_policy"],
      encryption: encryption.value as StreamCreate["encryption"],
      ...(region.value ? { region: region.value } : {}),
    };
    try {
      const created = await app.api.createStream(body);
      if (created.stream_key) app.keys.set(created.stream_id, created.stream_key);
      app.notify(`Stream "${created.title}" created`);
      app.go(`#/streams/${created.stream_id}`);
    } catch (error) {
      showError(errors, error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

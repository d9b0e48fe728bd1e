// Webhooks: the endpoints that hear your streams' events; add one (its signing secret is shown once), delete one.
import { WEBHOOK_EVENTS, type Webhook } from "../api/client.ts";
import { type App, actionButton, copyButton, showError } from "./app.ts";
import { field, h, when } from "./dom.ts";

/** The webhooks page. */
export function webhooksView(app: App): HTMLElement {
  document.title = "Webhooks · edgecast";
  const errors = h("div", { className: "errors" });
  const list = h("ul", { className: "assets", id: "webhooks" });
  const state = h("p", { className: "muted", attrs: { role: "status" } }, "Loading webhooks…");
  const secretBox = h("div", { className: "secret-once", hidden: true, attrs: { role: "status" } });

  const item = (hook: Webhook) => {
    const remove = actionButton(
      "Delete",
      errors,
      async () => {
        if (!window.confirm(`Delete the webhook to ${hook.url}?`)) return;
        await app.api.deleteWebhook(hook.id);
        await load();
      },
      "danger",
    );
    remove.setAttribute("aria-label", `Delete the webhook to ${hook.url}`);
    return h(
      "li",
      { dataset: { webhookId: hook.id } },
      h("code", {}, hook.url),
      h("span", {}, `${hook.events.join(", ")} · since ${when(hook.created_at)}`),
      remove,
    );
  };

  async function load(): Promise<void> {
    try {
      const { webhooks } = await app.api.listWebhooks();
      if (app.scope.gone) return;
      list.replaceChildren(...webhooks.map(item));
      state.textContent = webhooks.length ? "" : "No webhooks yet.";
    } catch (error) {
      showError(errors, error);
      state.textContent = "";
    }
  }

  const url = h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/hooks/edgecast" });
  const boxes = WEBHOOK_EVENTS.map((event) =>
    h("input", { type: "checkbox", name: "events", value: event, checked: true, id: `event-${event.replace(".", "-")}` }),
  );
  const add = h("button", { type: "submit", textContent: "Add webhook" });
  const addErrors = h("div", { className: "errors" });
  const form = h(
    "form",
    { className: "card", attrs: { "aria-labelledby": "add-webhook-title" } },
    h("h2", { id: "add-webhook-title" }, "Add a webhook"),
    field("Endpoint URL", url, "https:// to a public host."),
    h("fieldset", {}, h("legend", {}, "Events"), ...boxes.map((box) => h("div", { className: "check" }, box, h("label", { htmlFor: box.id }, box.value)))),
    addErrors,
    add,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    add.disabled = true;
    addErrors.replaceChildren();
    try {
      const events = boxes.filter((b) => b.checked).map((b) => b.value as Webhook["events"][number]);
      const created = await app.api.createWebhook({ url: url.value.trim(), events });
      const secret = created.secret ?? "";
      secretBox.hidden = false;
      secretBox.replaceChildren(
        h("strong", {}, "Signing secret (shown only now): "),
        h("code", { id: "webhook-secret", textContent: secret }),
        copyButton("signing secret", () => secret, app),
        h("p", {}, "Verify each delivery's webhook-signature header with it; store it now."),
      );
      url.value = "";
      await load();
    } catch (error) {
      showError(addErrors, error);
    } finally {
      add.disabled = false;
    }
  });

  void load();
  return h("section", { attrs: { "aria-labelledby": "webhooks-title" } }, h("h1", { id: "webhooks-title" }, "Webhooks"), errors, secretBox, state, list, form);
}

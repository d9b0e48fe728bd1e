// What every dashboard view gets: the API client, its scope, navigation, and the ways it tells the user something.
import { type ApiClient, ApiError } from "../api/client.ts";
import { h, type Scope } from "./dom.ts";

/** The dashboard as a view sees it. */
export interface App {
  api: ApiClient;
  /** Released when the view leaves the screen. */
  scope: Scope;
  /** Goes to a dashboard route (`#/streams`, `#/streams/<id>`, `#/webhooks`). */
  go(route: string): void;
  /** A short polite announcement (screen readers read it; it fades on screen). */
  notify(text: string): void;
  /** Stream keys this tab saw in create and rotate answers (the API never shows them again). */
  keys: Map<string, string>;
}

/** An error as the user should read it: a problem's detail (and its request id), or what went wrong. */
export function problemBox(error: unknown): HTMLElement {
  if (error instanceof ApiError) {
    return h(
      "div",
      { className: "problem", attrs: { role: "alert" } },
      h("strong", {}, error.status ? `${error.status} ${error.code}` : "Network error"),
      h("p", {}, error.message),
      error.requestId ? h("small", {}, `request id ${error.requestId}`) : null,
    );
  }
  return h("div", { className: "problem", attrs: { role: "alert" } }, h("strong", {}, "Something went wrong"), h("p", {}, String(error)));
}

/** Shows `error` in `slot` (replacing what was there); a 401 is left to the sign-in redirect. */
export function showError(slot: HTMLElement, error: unknown): void {
  if (error instanceof ApiError && error.status === 401) return;
  slot.replaceChildren(problemBox(error));
}

/** A button that runs `action` once at a time: disabled while it runs, errors shown in `errors`. */
export function actionButton(label: string, errors: HTMLElement, action: () => Promise<void>, className = ""): HTMLButtonElement {
  const button = h("button", { type: "button", textContent: label, className });
  button.addEventListener("click", async () => {
    button.disabled = true;
    errors.replaceChildren();
    try {
      await action();
    } catch (error) {
      showError(errors, error);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(label: string, text: () => string, app: Pick<App, "notify">): HTMLButtonElement {
  const button = h("button", { type: "button", textContent: "Copy", className: "copy", attrs: { "aria-label": `Copy ${label}` } });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text());
      app.notify(`${label} copied`);
    } catch {
      app.notify(`Could not copy ${label}: select it and copy by hand`);
    }
  });
  return button;
}

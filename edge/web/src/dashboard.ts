// The dashboard (`/dashboard`): sign in with an API token, then streams, a stream's page and webhooks, as hash routes
// of one page. Each view gets a Scope that stops its timers and players when the route changes.
import "./dashboard/dashboard.css";
import { type ApiClient, type ApiError, apiClient } from "./api/client.ts";
import type { App } from "./dashboard/app.ts";
import { h, Scope } from "./dashboard/dom.ts";
// Registers "Go live from this browser" (WHIP) in every stream's go-live section.
import "./dashboard/browser-go-live.ts";
import { forgetToken, saveToken, savedToken } from "./dashboard/session.ts";
import { signInView } from "./dashboard/sign-in-view.ts";
import { streamView } from "./dashboard/stream-view.ts";
import { streamsView } from "./dashboard/streams-view.ts";
import { webhooksView } from "./dashboard/webhooks-view.ts";

const main = document.getElementById("app") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const announcer = document.getElementById("announcer") as HTMLElement;
const keys = new Map<string, string>();
let scope = new Scope();
let api: ApiClient | null = null;
/** Why the tab is on the sign-in page (a revoked token, a sign-out), until it signs in again. */
let signInMessage: string | undefined;

let notifiedAt = 0;

function notify(text: string): void {
  notifiedAt = Date.now();
  announcer.textContent = text;
  announcer.classList.add("shown");
  setTimeout(() => {
    if (announcer.textContent === text) announcer.classList.remove("shown");
  }, 4000);
}

function signOut(message: string): void {
  forgetToken();
  api = null;
  keys.clear();
  signInMessage = message;
  render();
}

function connect(token: string): ApiClient {
  // A 401 anywhere (the token was revoked or expired meanwhile) signs the tab out, saying why.
  return apiClient(token, (error: ApiError) => signOut(`Signed out: ${error.message}`));
}

function renderNav(signedIn: boolean): void {
  if (!signedIn) {
    nav.replaceChildren();
    return;
  }
  const route = location.hash || "#/streams";
  const link = (href: string, label: string) => h("a", { href, textContent: label, ...(route.startsWith(href) ? { ariaCurrent: "page" } : {}) });
  const out = h("button", { type: "button", textContent: "Sign out", className: "secondary" });
  out.addEventListener("click", () => signOut("Signed out."));
  nav.replaceChildren(link("#/streams", "Streams"), link("#/webhooks", "Webhooks"), out);
}

function render(): void {
  // A notice belongs to the page it was about, unless it came with this navigation ("Stream created").
  if (Date.now() - notifiedAt > 1000) announcer.classList.remove("shown");
  scope.dispose();
  scope = new Scope();
  const token = savedToken();
  api ??= token ? connect(token) : null;
  renderNav(api !== null);
  if (!api) {
    main.replaceChildren(
      signInView(signInMessage, async (candidate) => {
        // A token the API refuses throws here (401 with its reason), shown by the form; nothing is saved.
        const client = apiClient(candidate, () => {});
        await client.listStreams({ limit: 1 });
        saveToken(candidate);
        api = connect(candidate);
        signInMessage = undefined;
        render(); // back to the route the tab was on
      }),
    );
    document.title = "Sign in · edgecast";
    return;
  }
  const app: App = { api, scope, keys, notify, go: (route) => (location.hash = route) };
  const [, section, id] = (location.hash || "#/streams").slice(1).split("/");
  if (section === "streams" && id) main.replaceChildren(streamView(app, decodeURIComponent(id)));
  else if (section === "webhooks") main.replaceChildren(webhooksView(app));
  else main.replaceChildren(streamsView(app));
  main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => render());
render();

// Sign-in: an API token (ADMIN_TOKEN, or one minted with POST /users/:id/tokens), checked with the API before the
// tab keeps it.
import { showError } from "./app.ts";
import { field, h } from "./dom.ts";

/** The sign-in form; `message` says why the tab is here (signed out, token revoked); `signIn` rejects when refused. */
export function signInView(message: string | undefined, signIn: (token: string) => Promise<void>): HTMLElement {
  const token = h("input", { type: "password", name: "token", required: true, autocomplete: "current-password", spellcheck: false });
  const errors = h("div", { className: "errors" });
  const submit = h("button", { type: "submit", textContent: "Sign in" });
  const form = h(
    "form",
    { className: "card narrow", attrs: { "aria-labelledby": "sign-in-title" } },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    message ? h("p", { className: "notice", attrs: { role: "status" } }, message) : null,
    field("API token", token, "Kept in this tab only (session storage) until you sign out or close it."),
    errors,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    errors.replaceChildren();
    try {
      await signIn(token.value.trim());
    } catch (error) {
      showError(errors, error);
      // A refused token is a 401, which showError leaves to the page: here it is the answer itself.
      if (!errors.hasChildNodes()) errors.replaceChildren(h("div", { className: "problem", attrs: { role: "alert" } }, (error as Error).message));
      token.focus();
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => token.focus());
  return form;
}

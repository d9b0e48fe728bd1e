// The API token of this tab: in sessionStorage only (gone when the tab closes; never in a URL or a cookie, so it
// never travels with playback requests).
const KEY = "edgecast.apiToken";

/** The token this tab signed in with, if any. */
export function savedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

/** Remembers `token` for this tab. */
export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

/** Forgets the token (sign out, or the API refused it). */
export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

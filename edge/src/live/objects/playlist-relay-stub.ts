// How the Worker reaches a stream's playlist relay at an edge location (playlist-relay.ts).
import type { PlaylistRelay } from "./playlist-relay.ts";

/** Edge locations as Cloudflare names them (`request.cf.colo`: three letters); anything else is one "local" relay. */
export function relayLocation(colo: unknown): string {
  return typeof colo === "string" && /^[A-Z]{3}$/.test(colo) ? colo : "local";
}

/** The stub of the playlist relay of `streamId` at `location` (one object per stream per location). */
export function playlistRelay(env: Env, streamId: string, location: string): DurableObjectStub<PlaylistRelay> {
  const namespace = env.PLAYLIST_RELAY as DurableObjectNamespace<PlaylistRelay>;
  return namespace.get(namespace.idFromName(`${streamId}:${location}`));
}

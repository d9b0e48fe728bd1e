// How the Worker reaches a stream's LiveStream Durable Object, and the stream's playlist relay at an edge location.
import type { LiveStream } from "./live-stream.ts";
import type { PlaylistRelay } from "./playlist-relay.ts";

/** The stub of the LiveStream object that owns `streamId` (one object per stream, named by its id). */
export function liveStream(env: Env, streamId: string): DurableObjectStub<LiveStream> {
  const namespace = env.LIVE_STREAM as DurableObjectNamespace<LiveStream>;
  return namespace.get(namespace.idFromName(streamId));
}

/** Edge locations as Cloudflare names them (`request.cf.colo`: three letters); anything else is one "local" relay. */
export function relayLocation(colo: unknown): string {
  return typeof colo === "string" && /^[A-Z]{3}$/.test(colo) ? colo : "local";
}

/** The stub of the playlist relay of `streamId` at `location` (one object per stream per location). */
export function playlistRelay(env: Env, streamId: string, location: string): DurableObjectStub<PlaylistRelay> {
  const namespace = env.PLAYLIST_RELAY as DurableObjectNamespace<PlaylistRelay>;
  return namespace.get(namespace.idFromName(`${streamId}:${location}`));
}

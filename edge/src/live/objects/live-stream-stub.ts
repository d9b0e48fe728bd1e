// How the Worker reaches a stream's LiveStream Durable Object.
import type { LiveStream } from "./live-stream.ts";

/** The stub of the LiveStream object that owns `streamId` (one object per stream, named by its id). */
export function liveStream(env: Env, streamId: string): DurableObjectStub<LiveStream> {
  const namespace = env.LIVE_STREAM as DurableObjectNamespace<LiveStream>;
  return namespace.get(namespace.idFromName(streamId));
}

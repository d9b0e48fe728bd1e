// Doing the outbox's steps (outbox.ts): the D1 ledger, webhook events, a VOD, the release of an unrecorded broadcast's
// media. Each is idempotent (fixed ids, conditional writes, overwrites of the same keys), so running one again after
// a failure or an eviction part way is safe; a step that fails throws, and the stream object retries it.
import type { MediaStore } from "../../storage/media-store.ts";
import { recordBroadcastEnd } from "../../streams/broadcast-ledger.ts";
import { bumpMediaGeneration } from "../../streams/playback-policy.ts";
import { type RecordingPages, recordingPages } from "../../vod/recorded-segment.ts";
import { markVodFailed, type VodProgress, writeVod } from "../../vod/vod-finalizer.ts";
import { emitEvent, newEventId } from "../../webhooks/emit.ts";
import type { OutboxStep } from "../outbox.ts";

/** What a step needs of the stream object that runs it. */
export interface StepHost {
  env: Env;
  store: MediaStore;
  /** A page of session `sessionId`'s recording (the object's SQLite). */
  recordingPage(sessionId: string): RecordingPages;
  /** The session's media is gone: forget its key seed, drop its ended window. */
  mediaReleased(sessionId: string | null): Promise<void>;
}

/** Recorded segments read per page when writing a VOD: ~1000 rows of a few dozen bytes each. */
const RECORDING_PAGE = 1000;

/** Runs `step`; returns the steps it calls for next (a VOD that became ready announces it). Throws when it failed. */
export async function runStep(
  host: StepHost,
  step: OutboxStep,
  progress: Record<string, unknown> | null,
  saveProgress: (progress: Record<string, unknown>) => void,
): Promise<OutboxStep[]> {
  const { env } = host;
  switch (step.kind) {
    case "ledger-end":
      await recordBroadcastEnd(env, step.streamId, step.sessionId, step.endedAt, step.reason, step.startedAt);
      return [];
    case "webhook":
      await emitEvent(env, step.streamId, step.type, step.data, { id: step.eventId, createdAt: step.createdAt });
      return [];
    case "vod": {
      const pages = recordingPages(host.recordingPage(step.sessionId), RECORDING_PAGE);
      const outcome = await writeVod(env, host.store, step, pages, (progress ?? {}) as VodProgress, (saved) => saveProgress({ ...saved }));
      if (outcome.kind !== "ready") return [];
      const data = { vod_id: step.vodId, session_id: step.sessionId, duration_s: outcome.durationS };
      return [{ kind: "webhook", streamId: step.streamId, type: "vod.ready", eventId: newEventId(), createdAt: new Date().toISOString(), data }];
    }
    case "release-unrecorded":
      await host.store.deleteEpochs(step.streamId, step.firstEpoch, step.lastEpoch);
      // Nothing of it stays reachable: not through the Cache API (a new media generation), not through the ended window.
      await bumpMediaGeneration(env, step.streamId);
      await host.mediaReleased(step.sessionId);
      return [];
  }
}

/** What a step that will not be tried again leaves behind: a VOD that gave up shows `failed` (and stays deletable). */
export async function giveUp(host: StepHost, step: OutboxStep): Promise<void> {
  if (step.kind === "vod") await markVodFailed(host.env, step.vodId);
}

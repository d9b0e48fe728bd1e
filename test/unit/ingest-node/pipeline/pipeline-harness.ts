// A fake publisher and a fake edge for StreamPipeline tests: the publish session the RTMP server would hand over and
// the edge's ingest API as the pipeline uses it, recording every call.
import type { PublishRequest, PublishResponse, StreamHeartbeat, UnpublishRequest } from "../../../../protocol/ingest.ts";
import type { SourceInfo, TagListener } from "../../../../ingest-node/src/rtmp/publish-session.ts";

/** A publisher that stays connected until closed. */
export class FakeSession {
  readonly remoteAddress = "127.0.0.1:5000";
  readonly startedAt = Date.now();
  readonly bytesIn = 0;
  closedWith: string | null = null;
  listener: TagListener | null = null;
  readonly ended: Promise<string>;
  private resolveEnded!: (reason: string) => void;

  private readonly info: SourceInfo;

  constructor(info: SourceInfo) {
    this.info = info;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }
  get active(): boolean {
    return this.closedWith === null;
  }
  streamKey(): string {
    return "sk_test_key";
  }
  source(): SourceInfo {
    return this.info;
  }
  attachFeed(listener: TagListener): void {
    this.listener = listener;
  }
  close(reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    this.resolveEnded(reason);
  }
}

/** The edge's ingest API as the pipeline uses it, recording every call; each republish is granted the next epoch,
 *  starting at media sequence `republishFirstMsn`. */
export class FakeEdge {
  epoch = 1;
  readonly publishes: PublishRequest[] = [];
  readonly unpublishes: UnpublishRequest[] = [];
  readonly heartbeats: StreamHeartbeat[] = [];
  private readonly streamId: string;
  private readonly republishFirstMsn: number;

  constructor(streamId: string, republishFirstMsn: number) {
    this.streamId = streamId;
    this.republishFirstMsn = republishFirstMsn;
  }
  async publish(request: PublishRequest): Promise<PublishResponse> {
    this.publishes.push(request);
    return grant(this.streamId, ++this.epoch, this.republishFirstMsn);
  }
  async unpublish(request: UnpublishRequest): Promise<void> {
    this.unpublishes.push(request);
  }
  async streamHeartbeat(_id: string, heartbeat: StreamHeartbeat): Promise<{ ok: boolean; stop: boolean }> {
    this.heartbeats.push(heartbeat);
    return { ok: true, stop: false };
  }
}

/** The edge's answer to a publish: low latency, 2 s segments, no encryption. */
export function grant(streamId: string, epoch: number, firstMsn: number): PublishResponse {
  return {
    stream_id: streamId,
    latency_mode: "low",
    segment_target: 2,
    part_target: null,
    epoch,
    first_msn: firstMsn,
    reconnect: epoch > 1,
    encryption: null,
  };
}

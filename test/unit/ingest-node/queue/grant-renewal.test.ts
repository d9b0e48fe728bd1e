import { afterEach, describe, expect, it, vi } from "vitest";
import { signWorkerGrant } from "../../../../edge/src/auth/worker-grant.ts";
import { createLogger } from "../../../../ingest-node/src/log.ts";
import { PoolTranscoding } from "../../../../ingest-node/src/queue/pool-transcoding.ts";
import type { TranscodeJob } from "../../../../ingest-node/src/queue/transcode-job.ts";
import { workerGrantExpiry } from "../../../../protocol/worker-grant.ts";

const STREAM = "0b6f3c1e-8d2a-4c7e-9f10-2a3b4c5d6e7f";
const NOW = 1_800_000_000_000;
const SOURCE = { width: 1280, height: 720, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };

function grantFor(exp: number): Promise<string> {
  return signWorkerGrant("secret", { streamId: STREAM, epoch: 3, renditions: ["360p"], exp });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("worker grant renewal on the node", () => {
  it("reads a grant's expiry without the secret, and nothing from what is not a grant", async () => {
    expect(workerGrantExpiry(await grantFor(NOW / 1000 + 900))).toBe(NOW / 1000 + 900);
    expect(workerGrantExpiry("wg1.not-json.AAAA")).toBeNull();
    expect(workerGrantExpiry(`wg1.${Buffer.from("[1]").toString("base64url")}.${"A".repeat(43)}`)).toBeNull();
    expect(workerGrantExpiry("")).toBeNull();
  });

  it("asks for a fresh grant at half its life, and queues jobs under the fresh one from then on", async () => {
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    const jobs: TranscodeJob[] = [];
    const pool = new PoolTranscoding({
      sink: { add: async (_cls, job) => void jobs.push(job), gpuWorkerSeen: async () => false },
      ladder: [{ name: "360p", height: 360, videoKbps: 800, audioKbps: 96 }],
      gpuMinHeight: 720,
      bufferJobs: 10,
      fragments: null,
      log: createLogger("test"),
    });
    const first = await grantFor(NOW / 1000 + 600);
    const publish = pool.forPublish({
      stream_id: STREAM,
      latency_mode: "low",
      segment_target: 2,
      part_target: null,
      epoch: 3,
      first_msn: 0,
      reconnect: false,
      encryption: null,
      worker_grant: first,
    });
    if (!publish) throw new Error("a publish with a worker grant has a pool part");
    publish.plan(SOURCE, 2, true);
    const segment = (msn: number) => publish.segment("source", { epoch: 3, msn, duration: 2, program_date_time: new Date(NOW).toISOString(), parts: 0 });

    expect(publish.renewalDue(NOW + 299_000)).toBe(false);
    expect(publish.renewalDue(NOW + 300_000)).toBe(true);
    segment(0);
    vi.setSystemTime(NOW + 300_000);
    const second = await grantFor(NOW / 1000 + 300 + 600);
    publish.renewed(second);
    // The clock restarts from the renewal: due again at half of the new grant's life.
    expect(publish.renewalDue(NOW + 300_000 + 299_000)).toBe(false);
    expect(publish.renewalDue(NOW + 300_000 + 300_000)).toBe(true);
    segment(1);
    await vi.waitFor(() => expect(jobs).toHaveLength(2));
    pool.close();
    expect(jobs.map((j) => [j.msn, j.grant])).toEqual([
      [0, first],
      [1, second],
    ]);
  });

  it("never asks without a grant it can read", () => {
    const pool = new PoolTranscoding({
      sink: { add: async () => {}, gpuWorkerSeen: async () => false },
      ladder: [],
      gpuMinHeight: 720,
      bufferJobs: 10,
      fragments: null,
      log: createLogger("test"),
    });
    const publish = pool.forPublish({
      stream_id: STREAM,
      latency_mode: "low",
      segment_target: 2,
      part_target: null,
      epoch: 1,
      first_msn: 0,
      reconnect: false,
      encryption: null,
      worker_grant: "garbage",
    });
    expect(publish?.renewalDue(Number.MAX_SAFE_INTEGER)).toBe(false);
    pool.close();
  });
});

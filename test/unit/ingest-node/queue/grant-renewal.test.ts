import { afterEach, describe, expect, it, vi } from "vitest";
import { signWorkerGrant } from "../../../../edge/src/auth/worker-grant.ts";
import type { TranscodeJob } from "../../../../ingest-node/src/queue/transcode-job.ts";
import { workerGrantExpiry } from "../../../../protocol/worker-grant.ts";
import { grantedPublish, NOW, SOURCE, STREAM, testPool } from "./pool-fixture.ts";

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
    const pool = testPool({ sink: { add: async (_cls, job) => void jobs.push(job), gpuWorkerSeen: async () => false } });
    const first = await grantFor(NOW / 1000 + 600);
    const publish = grantedPublish(pool, first);
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
    const pool = testPool({ ladder: [] });
    const publish = grantedPublish(pool, "garbage", 1);
    expect(publish?.renewalDue(Number.MAX_SAFE_INTEGER)).toBe(false);
    pool.close();
  });
});

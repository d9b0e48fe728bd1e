// The worker's settings: ENCODER_NICE's default and bounds.
import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "../../../../ingest-node/src/worker/worker-config.ts";

const base = { REDIS_URL: "redis://127.0.0.1:6379" };

describe("loadWorkerConfig", () => {
  it("runs the encoders at nice 10 unless told otherwise", () => {
    expect(loadWorkerConfig(base).encoderNice).toBe(10);
    expect(loadWorkerConfig({ ...base, ENCODER_NICE: "0" }).encoderNice).toBe(0);
    expect(loadWorkerConfig(base, ["--encoder-nice=19"]).encoderNice).toBe(19);
  });

  it("refuses a nice value Linux does not have, naming the setting", () => {
    expect(() => loadWorkerConfig({ ...base, ENCODER_NICE: "20" })).toThrow(/ENCODER_NICE/);
    expect(() => loadWorkerConfig({ ...base, ENCODER_NICE: "-5" })).toThrow(/ENCODER_NICE/);
  });
});

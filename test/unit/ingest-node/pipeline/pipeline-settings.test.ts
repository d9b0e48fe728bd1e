// The PIPELINE_* and PICTURE_QUEUE_MAX settings: defaults, env and flags, and invalid values named.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../ingest-node/src/config.ts";

const env = { NODE_TOKEN: "node-token-123" };

describe("loadConfig: PICTURE_QUEUE_MAX", () => {
  it("bounds the pictures waiting per picture FFmpeg: 64 by default, from the env or a flag, never 0", () => {
    expect(loadConfig(env).pictureQueueMax).toBe(64);
    expect(loadConfig({ ...env, PICTURE_QUEUE_MAX: "8" }).pictureQueueMax).toBe(8);
    expect(loadConfig(env, ["--picture-queue-max", "16"]).pictureQueueMax).toBe(16);
    expect(() => loadConfig({ ...env, PICTURE_QUEUE_MAX: "0" })).toThrow(/PICTURE_QUEUE_MAX/);
  });
});

describe("loadConfig: PIPELINE_*", () => {
  it("bounds every publish's pipeline by default", () => {
    expect(loadConfig(env).pipeline).toEqual({ maxBufferBytes: 64 * 1024 * 1024, maxSegmentTargets: 3, maxSegmentBytes: 64 * 1024 * 1024, restarts: 1 });
  });

  it("takes each from the env or a flag", () => {
    const config = loadConfig({ ...env, PIPELINE_MAX_BUFFER_MB: "8", PIPELINE_MAX_SEGMENT_TARGETS: "4", PIPELINE_RESTARTS: "0" }, [
      "--pipeline-max-segment-mb",
      "16",
    ]);
    expect(config.pipeline).toEqual({ maxBufferBytes: 8 * 1024 * 1024, maxSegmentTargets: 4, maxSegmentBytes: 16 * 1024 * 1024, restarts: 0 });
  });

  it("refuses values that would leave a buffer unbounded or a segment uncuttable", () => {
    expect(() => loadConfig({ ...env, PIPELINE_MAX_BUFFER_MB: "0" })).toThrow(/PIPELINE_MAX_BUFFER_MB/);
    expect(() => loadConfig({ ...env, PIPELINE_MAX_SEGMENT_TARGETS: "1" })).toThrow(/PIPELINE_MAX_SEGMENT_TARGETS/);
    expect(() => loadConfig({ ...env, PIPELINE_MAX_SEGMENT_MB: "abc" })).toThrow(/PIPELINE_MAX_SEGMENT_MB/);
    expect(() => loadConfig({ ...env, PIPELINE_RESTARTS: "-1" })).toThrow(/PIPELINE_RESTARTS/);
  });
});

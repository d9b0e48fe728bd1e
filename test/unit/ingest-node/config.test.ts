import { describe, expect, it, vi } from "vitest";
import { DEFAULT_LADDER, TEST_LADDER } from "../../../protocol/ladder.ts";
import { loadConfig } from "../../../ingest-node/src/config.ts";
import { createLogger } from "../../../ingest-node/src/log.ts";

const env = { NODE_TOKEN: "node-token-123" };

describe("loadConfig: LADDER", () => {
  it("names the default and test ladders, default first", () => {
    expect(loadConfig(env).ladder).toEqual(DEFAULT_LADDER);
    expect(loadConfig({ ...env, LADDER: "test" }).ladder).toEqual(TEST_LADDER);
  });

  it("accepts passthrough from the env or a flag", () => {
    expect(loadConfig({ ...env, LADDER: "passthrough" }).ladder).toBe("passthrough");
    expect(loadConfig(env, ["--ladder", "passthrough"]).ladder).toBe("passthrough");
    expect(loadConfig({ ...env, LADDER: "test" }, ["--ladder=passthrough"]).ladder).toBe("passthrough");
  });

  it("accepts a JSON array of rungs", () => {
    const rungs = [{ name: "540p", height: 540, videoKbps: 2000, audioKbps: 128 }];
    expect(loadConfig({ ...env, LADDER: JSON.stringify(rungs) }).ladder).toEqual(rungs);
  });

  it("names what it expected for anything else", () => {
    expect(() => loadConfig({ ...env, LADDER: "passthru" })).toThrow(/LADDER: expected default, test, passthrough or a JSON array of rungs, got "passthru"/);
    expect(() => loadConfig({ ...env, LADDER: "toString" })).toThrow(/LADDER: expected/);
    expect(() => loadConfig({ ...env, LADDER: "[]" })).toThrow(/LADDER: /);
  });
});

describe("loadConfig: EDGE_URL", () => {
  it("wants https, except to a loopback address", () => {
    for (const url of ["https://edge.example.com", "http://127.0.0.1:8787", "http://127.8.9.10", "http://localhost:8787", "http://[::1]:8787"]) {
      expect(loadConfig({ ...env, EDGE_URL: url }).edgeUrl).toBe(url);
    }
    for (const url of [
      "http://edge.example.com",
      "http://10.0.0.5:8787",
      "http://128.0.0.1",
      "http://127.0.0.1.example.com",
      "http://[::2]",
      "ftp://127.0.0.1",
    ]) {
      expect(() => loadConfig({ ...env, EDGE_URL: url }), url).toThrow(/EDGE_URL: must be https:\/\/ \(plain http only to a loopback address/);
    }
  });
});

describe("loadConfig: node credential", () => {
  it("takes a minted NODE_TOKEN as is, or registers with the bootstrap INGEST_SECRET", () => {
    expect(loadConfig({ NODE_TOKEN: "nc_minted-1" })).toMatchObject({ nodeToken: "nc_minted-1", ingestSecret: null });
    expect(loadConfig({ INGEST_SECRET: "bootstrap-1" })).toMatchObject({ nodeToken: null, ingestSecret: "bootstrap-1" });
    // Both: the node's own credential wins (the secret is not needed, so it is not used).
    expect(loadConfig({ NODE_TOKEN: "nc_minted-1", INGEST_SECRET: "bootstrap-1" })).toMatchObject({ nodeToken: "nc_minted-1", ingestSecret: null });
    expect(() => loadConfig({})).toThrow(/set NODE_TOKEN \(this node's minted credential\) or INGEST_SECRET/);
    expect(() => loadConfig({ NODE_TOKEN: "", INGEST_SECRET: "" })).toThrow(/set NODE_TOKEN/);
  });
});

describe("loadConfig: settings read once and passed down", () => {
  it("takes where FFmpeg is (FFMPEG_PATH, FFPROBE_PATH, PATH) from the environment or a flag", () => {
    expect(loadConfig({ ...env, PATH: "/usr/bin:/bin" }).ffmpeg).toEqual({ ffmpegPath: null, ffprobePath: null, searchPath: "/usr/bin:/bin" });
    const set = loadConfig({ ...env, FFMPEG_PATH: "/opt/ff/ffmpeg", FFPROBE_PATH: "/opt/ff/ffprobe" }, ["--ffmpeg-path", "/opt/other/ffmpeg"]);
    expect(set.ffmpeg).toEqual({ ffmpegPath: "/opt/other/ffmpeg", ffprobePath: "/opt/ff/ffprobe", searchPath: null });
    expect(loadConfig({ ...env, FFMPEG_PATH: "" }).ffmpeg.ffmpegPath).toBeNull();
  });

  it("takes LOG_LEVEL, which the entry point gives its logger (children inherit it)", () => {
    expect(loadConfig(env).logLevel).toBe("info");
    const config = loadConfig({ ...env, LOG_LEVEL: "warn" });
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => lines.push(String(chunk)) > 0;
    const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
    try {
      const log = createLogger("node", config.logLevel).child("pipeline");
      log.info("not shown");
      log.warn("shown");
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(lines).toEqual([expect.stringMatching(/WARN {2}node\/pipeline shown\n$/)]);
    expect(() => loadConfig({ ...env, LOG_LEVEL: "loud" })).toThrow(/LOG_LEVEL/);
  });
});

describe("loadConfig: RTMP_TAG_POOL_MB", () => {
  it("defaults to 8 MiB, takes 0 (no reuse), refuses a negative size", () => {
    expect(loadConfig(env).rtmpTagPoolBytes).toBe(8 * 1024 * 1024);
    expect(loadConfig({ ...env, RTMP_TAG_POOL_MB: "0" }).rtmpTagPoolBytes).toBe(0);
    expect(() => loadConfig({ ...env, RTMP_TAG_POOL_MB: "-1" })).toThrow(/RTMP_TAG_POOL_MB/);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../../../ingest-node/src/config.ts";
import type { Logger } from "../../../../ingest-node/src/log.ts";
import { ConnectionLimits, normalizeIp } from "../../../../ingest-node/src/rtmp/connection-limits.ts";
import { RefusalLog } from "../../../../ingest-node/src/rtmp/refusal-log.ts";

const env = { NODE_TOKEN: "a-node-credential" };

describe("RTMP limit settings", () => {
  it("default to what the README says, and are read from the environment", () => {
    expect(loadConfig(env).rtmpLimits).toEqual({
      guard: { maxMessageBytes: 8 * 1024 * 1024, maxChunkStreams: 8, preauthBytes: 4 * 1024 * 1024 },
      connections: { maxConnections: 64, maxConnectionsPerIp: 8 },
      maxPublishes: 16,
      readIntervalMs: 40,
    });
    const set = loadConfig({
      ...env,
      RTMP_MAX_MESSAGE_BYTES: "1048576",
      RTMP_MAX_CHUNK_STREAMS: "6",
      RTMP_PREAUTH_BYTES: "262144",
      RTMP_MAX_CONNECTIONS: "10",
      RTMP_MAX_CONNECTIONS_PER_IP: "2",
      MAX_PUBLISHES: "3",
      RTMP_READ_INTERVAL_MS: "0",
    }).rtmpLimits;
    expect(set).toEqual({
      guard: { maxMessageBytes: 1048576, maxChunkStreams: 6, preauthBytes: 262144 },
      connections: { maxConnections: 10, maxConnectionsPerIp: 2 },
      maxPublishes: 3,
      readIntervalMs: 0,
    });
  });

  it("refuse values that would disable a limit or break RTMP", () => {
    expect(() => loadConfig({ ...env, RTMP_MAX_MESSAGE_BYTES: String(0x1000000) })).toThrow(/RTMP_MAX_MESSAGE_BYTES/);
    expect(() => loadConfig({ ...env, RTMP_MAX_CHUNK_STREAMS: "2" })).toThrow(/RTMP_MAX_CHUNK_STREAMS/);
    expect(() => loadConfig({ ...env, MAX_PUBLISHES: "0" })).toThrow(/MAX_PUBLISHES/);
    expect(() => loadConfig({ ...env, RTMP_READ_INTERVAL_MS: "500" })).toThrow(/RTMP_READ_INTERVAL_MS/);
  });
});

describe("ConnectionLimits", () => {
  it("counts an IPv4 client the same over an IPv6 socket, and releases once", () => {
    expect(normalizeIp("::ffff:10.0.0.1")).toBe("10.0.0.1");
    const limits = new ConnectionLimits({ maxConnections: 3, maxConnectionsPerIp: 1 });
    const a = limits.admit("10.0.0.1");
    expect(limits.admit("::ffff:10.0.0.1")).toEqual({ ok: false, refusal: "max-connections-per-ip" });
    if (!a.ok) throw new Error("first connection refused");
    a.release();
    a.release();
    expect(limits.open).toBe(0);
    expect(limits.admit("::ffff:10.0.0.1").ok).toBe(true);
  });
});

describe("RefusalLog", () => {
  afterEach(() => vi.useRealTimers());

  it("counts every refusal but logs a reason at most once per 5 s, then says how many it left out", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = { warn: (m: string, f?: object) => lines.push(`${m} ${JSON.stringify(f)}`), info: () => {} } as unknown as Logger;
    const refusals = new RefusalLog(log);
    for (let i = 0; i < 100; i++) refusals.refuse("max-connections", "refusing", { n: i });
    refusals.refuse("other", "other reason");
    vi.advanceTimersByTime(5000);
    refusals.refuse("max-connections", "refusing", { n: 100 });
    expect(refusals.counts()).toEqual({ "max-connections": 101, other: 1 });
    expect(lines).toEqual(['refusing {"n":0}', "other reason {}", 'refusing {"n":100,"not_logged_before":99}']);
  });
});

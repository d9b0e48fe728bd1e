// The SRT listener waits for libsrt's events in long waits (a 50 ms poll cost an idle node more CPU than the rest of
// it): a caller that connects to an idle listener must still be accepted and read at once, and stop() must not wait
// for the wait in progress to run out. Real libsrt on both sides (the caller non-blocking, as the listener's key
// check answers on this same thread).
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PublishResponse } from "../../../../protocol/ingest.ts";
import { createLogger } from "../../../../ingest-node/src/log.ts";
import { intOption, ipv4Address, loadLibsrt, SRTO } from "../../../../ingest-node/src/srt/libsrt.ts";
import { SrtPublish } from "../../../../ingest-node/src/srt/srt-publish.ts";
import { SrtServer } from "../../../../ingest-node/src/srt/srt-server.ts";
import { freePort } from "../../../../scripts/lib/free-port.ts";

/** TSBPD latency of both sides: data is readable this long after it was sent. */
const LATENCY_MS = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SRT listener wake-ups", () => {
  let server: SrtServer | null = null;
  afterEach(async () => {
    vi.restoreAllMocks();
    await server?.close();
    server = null;
  });

  it("accepts and reads a caller that connects after a second of idling within a few ms, and stops at once", async () => {
    const pushedAt: number[] = [];
    vi.spyOn(SrtPublish.prototype, "push").mockImplementation(() => void pushedAt.push(Date.now()));
    const port = await freePort();
    server = new SrtServer({
      host: "127.0.0.1",
      port,
      latencyMs: LATENCY_MS,
      passphrase: null,
      maxConnections: 4,
      authTimeoutMs: 2_000,
      silenceTimeoutMs: 10_000,
      ffmpegBinary: "ffmpeg",
      x264Preset: "ultrafast",
      maxBufferBytes: 1024 * 1024,
      authorize: async () => ({ ok: true, grant: {} as PublishResponse }),
      publish: () => {},
      log: createLogger("srt-test", "error"),
    });
    await server.listen();
    const srt = loadLibsrt();
    const delays: number[] = [];
    for (const key of ["sk_wake_one", "sk_wake_two"]) {
      // Idle longer than a wait lasts, so the caller arrives in the middle of one.
      await sleep(1_200);
      const socket = srt.createSocket();
      const id = Buffer.from(`#!::r=${key},m=publish`);
      srt.setFlag(socket, SRTO.STREAMID, id, id.length);
      srt.setFlag(socket, SRTO.LATENCY, intOption(LATENCY_MS), 4);
      srt.setFlag(socket, SRTO.RCVSYN, intOption(0), 4);
      srt.setFlag(socket, 1 /* SRTO_SNDSYN */, intOption(0), 4);
      srt.connect(socket, ipv4Address("127.0.0.1", port), 16);
      const payload = Buffer.alloc(1316, 0x47);
      const deadline = Date.now() + 3_000;
      // Non-blocking: sending fails until the handshake (and the key check on this thread) completed.
      while (srt.sendmsg(socket, payload, payload.length, -1, 1) < 0) {
        if (Date.now() > deadline) throw new Error(`the caller did not connect: ${srt.lastErrorText()}`);
        await sleep(1);
      }
      const sentAt = Date.now();
      const before = pushedAt.length;
      while (pushedAt.length === before && Date.now() - sentAt < 3_000) await sleep(1);
      expect(pushedAt.length).toBeGreaterThan(before);
      delays.push(pushedAt.at(-1)! - sentAt);
      srt.close(socket);
    }
    // Accept, then read: TSBPD holds the data LATENCY_MS; a listener that only looked once per wait would be up to 1 s late.
    for (const delay of delays) expect(delay).toBeLessThan(LATENCY_MS + 150);
    const stopStarted = Date.now();
    await server.close();
    server = null;
    expect(Date.now() - stopStarted).toBeLessThan(500);
  }, 15_000);
});

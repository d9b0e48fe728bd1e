// A transcode worker given an FFmpeg older than 5.1 (the npm package's 2018 build, the node's last fallback) stops at
// start-up with one line naming it, rather than fail every job it takes.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";

const npmBinary = "node_modules/@ffmpeg-installer/linux-x64/ffmpeg";

describe("worker-main", () => {
  it.skipIf(!existsSync(npmBinary))("refuses an FFmpeg older than 5.1 with one line and exit status 1", async () => {
    const env = { ...process.env, REDIS_URL: "redis://127.0.0.1:1", EDGE_URL: "http://127.0.0.1:1", NODE_ID: "w-old", NODE_TOKEN: "t", FFMPEG_PATH: npmBinary };
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ["ingest-node/src/worker-main.ts"], { env, timeout: 20_000 }, (_error, _stdout, stderr) =>
        resolve({ code: child.exitCode, stderr: String(stderr) }),
      );
    });
    expect(code).toBe(1);
    const lines = stderr.split("\n").filter((line) => line.includes("cannot start"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/older than FFmpeg 5\.1, which a worker needs/);
  });
});

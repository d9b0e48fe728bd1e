// A publisher whose ffmpeg cannot be started ends quietly: no crash of the caller, and no stream key in the error.
import { describe, expect, it } from "vitest";
import { startTestPublisher } from "../../../scripts/lib/test-publisher.ts";
import { spawnGroup } from "../../../scripts/lib/processes.ts";

const KEY = "sk_Qx3yA-9_bcdefghijklmnopqrstuvwxy";

describe("children that cannot be started", () => {
  it("the test publisher resolves `exited` with null and a redacted reason", async () => {
    const publisher = startTestPublisher({ url: `rtmp://127.0.0.1:1/live/${KEY}`, ffmpeg: "/nonexistent/ffmpeg" });
    expect(await publisher.exited).toBeNull();
    expect(publisher.spawnError()).toBe("could not start /nonexistent/ffmpeg: ENOENT");
    await publisher.stop();
  });

  it("a process group child resolves `exited` and says why", async () => {
    const child = spawnGroup("nothing", "/nonexistent/tool", [`rtmp://127.0.0.1:1/live/${KEY}`]);
    expect(await child.exited).toBeNull();
    expect(child.exitDescription()).toBe("could not start: ENOENT");
    await child.stop();
  });
});

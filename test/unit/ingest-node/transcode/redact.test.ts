import { describe, expect, it } from "vitest";
import { redactor, redactUrl } from "../../../../ingest-node/src/transcode/redact.ts";

describe("redaction", () => {
  it("replaces the last path segment and query of rtmp URLs", () => {
    expect(redactUrl("rtmp://127.0.0.1:1935/live/sk_abc123")).toBe("rtmp://127.0.0.1:1935/live/<redacted>");
    expect(redactUrl("rtmps://h/app/inst/key?token=x")).toBe("rtmps://h/app/inst/<redacted>");
    expect(redactUrl("https://example.com/a")).toBe("https://example.com/a");
  });

  it("removes the key wherever FFmpeg quotes it, raw or percent-decoded", () => {
    const redact = redactor(["-i", "rtmp://ingest:1935/live/sk%2Bsecret42"]);
    expect(redact("rtmp://ingest:1935/live/sk%2Bsecret42: Input/output error")).toBe("rtmp://ingest:1935/live/<redacted>: Input/output error");
    expect(redact("[rtmp @ 0x1] Server error: stream sk+secret42 not found")).toBe("[rtmp @ 0x1] Server error: stream <redacted> not found");
    expect(redact("frame=1 fps=0")).toBe("frame=1 fps=0");
  });
});

// What the scripts print never carries a stream key: rtmp URLs lose theirs, edge-issued secrets are masked.
import { describe, expect, it } from "vitest";
import { redactSecrets } from "../../../scripts/lib/redact.ts";

const KEY = "sk_Qx3yA-9_bcdefghijklmnopqrstuvwxy";

describe("redactSecrets", () => {
  it("cuts the key from rtmp URLs and keeps bare server URLs", () => {
    expect(redactSecrets(`rtmp://127.0.0.1:1935/live/${KEY}: Connection refused`)).toBe("rtmp://127.0.0.1:1935/live/<redacted> Connection refused");
    expect(redactSecrets("ready rtmp=rtmp://127.0.0.1:1935/live public=rtmps://ingest.example.com/live")).toBe(
      "ready rtmp=rtmp://127.0.0.1:1935/live public=rtmps://ingest.example.com/live",
    );
  });

  it("masks edge-issued secrets anywhere, and the keys of the given arguments", () => {
    expect(redactSecrets(`{"stream_key":"${KEY}"}`)).toBe('{"stream_key":"sk_<redacted>"}');
    expect(redactSecrets("key=abcd-1234 failed", ["-f", "flv", "rtmp://h/live/abcd-1234"])).toBe("key=<redacted> failed");
  });
});

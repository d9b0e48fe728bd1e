import { describe, expect, it } from "vitest";
import { whipUrlAllowed } from "../../../../edge/src/streams/ingest-host-policy.ts";

describe("whipUrlAllowed", () => {
  const rtmp = "rtmp://ingest-1.eu.example.com:1935/live";

  it("accepts an http(s) base URL, with or without a port, on the host of the RTMP URL offered for the node", () => {
    expect(whipUrlAllowed("https://ingest-1.eu.example.com", rtmp)).toBe("https://ingest-1.eu.example.com");
    expect(whipUrlAllowed("https://INGEST-1.eu.example.com:8443/", rtmp)).toBe("https://INGEST-1.eu.example.com:8443");
    expect(whipUrlAllowed("http://127.0.0.1:8889", "rtmp://127.0.0.1:1935/live")).toBe("http://127.0.0.1:8889");
  });

  it("refuses another host, a path or query, another scheme, and any URL when no RTMP URL is offered", () => {
    expect(whipUrlAllowed("https://evil.example.com", rtmp)).toBe(null);
    expect(whipUrlAllowed("https://ingest-1.eu.example.com/whip", rtmp)).toBe(null);
    expect(whipUrlAllowed("https://ingest-1.eu.example.com?x=1", rtmp)).toBe(null);
    expect(whipUrlAllowed("srt://ingest-1.eu.example.com:9000", rtmp)).toBe(null);
    expect(whipUrlAllowed("https://ingest-1.eu.example.com", "")).toBe(null);
  });
});

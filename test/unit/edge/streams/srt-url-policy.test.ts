import { describe, expect, it } from "vitest";
import { srtUrlAllowed } from "../../../../edge/src/streams/ingest-host-policy.ts";

describe("srtUrlAllowed", () => {
  const rtmp = "rtmp://ingest-1.eu.example.com:1935/live";

  it("accepts an srt:// URL with a port on the host of the RTMP URL offered for the node", () => {
    expect(srtUrlAllowed("srt://ingest-1.eu.example.com:9000", rtmp)).toBe("srt://ingest-1.eu.example.com:9000");
    expect(srtUrlAllowed("srt://INGEST-1.eu.example.com:9000/", rtmp)).toBe("srt://INGEST-1.eu.example.com:9000");
    expect(srtUrlAllowed("srt://[::1]:9000", "rtmp://[::1]:1935/live")).toBe("srt://[::1]:9000");
  });

  it("refuses another host, a missing port, a query or path, another scheme, and any URL when no RTMP URL is offered", () => {
    expect(srtUrlAllowed("srt://evil.example.com:9000", rtmp)).toBe(null);
    expect(srtUrlAllowed("srt://ingest-1.eu.example.com", rtmp)).toBe(null);
    expect(srtUrlAllowed("srt://ingest-1.eu.example.com:9000?streamid=x", rtmp)).toBe(null);
    expect(srtUrlAllowed("srt://ingest-1.eu.example.com:9000/live", rtmp)).toBe(null);
    expect(srtUrlAllowed("udp://ingest-1.eu.example.com:9000", rtmp)).toBe(null);
    expect(srtUrlAllowed("srt://ingest-1.eu.example.com:9000", "")).toBe(null);
  });
});

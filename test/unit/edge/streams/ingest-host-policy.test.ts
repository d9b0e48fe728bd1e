import { describe, expect, it } from "vitest";
import { advertisedUrlAllowed, parseHostPatterns, rtmpHost } from "../../../../edge/src/streams/ingest-host-policy.ts";

const configured = { "eu-west": "rtmp://ingest-eu.example.com:1935/live", local: "rtmp://127.0.0.1:1935/live" };
const allowed = (advertised: string, region: string, patterns: string[] = [], stored = "") =>
  advertisedUrlAllowed({ advertised, region, stored, configured, patterns });

describe("advertisedUrlAllowed", () => {
  it("accepts the region's configured host on any port and path, and nothing else without a pattern", () => {
    expect(allowed("rtmp://ingest-eu.example.com/live", "eu-west")).toBe(true);
    expect(allowed("rtmps://INGEST-EU.example.com:443/app", "eu-west")).toBe(true);
    expect(allowed("rtmp://127.0.0.1:1936/live", "local")).toBe(true);
    expect(allowed("rtmp://127.0.0.1:1936/live", "eu-west")).toBe(false);
    expect(allowed("rtmp://ingest-eu.example.com.evil.test/live", "eu-west")).toBe(false);
    expect(allowed("rtmp://evil.test/live", "us-east")).toBe(false);
    expect(allowed("https://ingest-eu.example.com/live", "eu-west")).toBe(false);
  });

  it("matches INGEST_HOST_PATTERN with * inside one label and {region} as the node's region", () => {
    const patterns = parseHostPatterns("{region}-*.ingest.example.com, edge-*.example.net");
    expect(allowed("rtmp://eu-west-1a.ingest.example.com/live", "eu-west", patterns)).toBe(true);
    expect(allowed("rtmp://us-east-1a.ingest.example.com/live", "eu-west", patterns)).toBe(false);
    expect(allowed("rtmp://eu-west-1a.evil.ingest.example.com/live", "eu-west", patterns)).toBe(false);
    expect(allowed("rtmp://edge-7.example.net/live", "us-east", patterns)).toBe(true);
    expect(allowed("rtmp://edge-7.example.net.evil/live", "us-east", patterns)).toBe(false);
  });

  it("keeps accepting the exact URL stored for the node (the admin's)", () => {
    expect(allowed("rtmp://custom.example.org:1935/live", "eu-west", [], "rtmp://custom.example.org:1935/live/")).toBe(true);
    expect(allowed("rtmp://custom.example.org:1936/live", "eu-west", [], "rtmp://custom.example.org:1935/live")).toBe(false);
  });
});

describe("parseHostPatterns and rtmpHost", () => {
  it("refuses malformed patterns and reads hosts", () => {
    expect(parseHostPatterns("")).toEqual([]);
    expect(() => parseHostPatterns("a/b.example")).toThrow(/INGEST_HOST_PATTERN/);
    expect(() => parseHostPatterns("{zone}.example")).toThrow(/INGEST_HOST_PATTERN/);
    expect(rtmpHost("rtmp://[::1]:1935/live")).toBe("::1");
    expect(rtmpHost("rtmp:///live")).toBeNull();
    expect(rtmpHost("not a url")).toBeNull();
  });
});

// The relay's settings: PLAYLIST_STALENESS_MS (default 500 ms, 0 keeps nothing, out-of-range refused) and the
// test-only TEST_RELAY_LOCATION_HEADER (off unless set).
import { describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../../../edge/src/live/relay-settings.ts";

describe("relay settings", () => {
  it("PLAYLIST_STALENESS_MS defaults to 500, takes 0..10000, refuses anything else", () => {
    expect(parseRelaySettings({}).playlistStalenessMs).toBe(500);
    expect(parseRelaySettings({ PLAYLIST_STALENESS_MS: "0" }).playlistStalenessMs).toBe(0);
    expect(parseRelaySettings({ PLAYLIST_STALENESS_MS: "250" }).playlistStalenessMs).toBe(250);
    for (const bad of ["-1", "1.5", "10001", "soon"]) expect(() => parseRelaySettings({ PLAYLIST_STALENESS_MS: bad })).toThrow(/PLAYLIST_STALENESS_MS/);
  });

  it("TEST_RELAY_LOCATION_HEADER is off by default and names a header (lower case) when set", () => {
    expect(parseRelaySettings({}).relayLocationHeader).toBeNull();
    expect(parseRelaySettings({ TEST_RELAY_LOCATION_HEADER: " X-Test-Relay-Location " }).relayLocationHeader).toBe("x-test-relay-location");
  });
});

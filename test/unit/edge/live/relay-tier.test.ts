// The regional relay tier's pure parts: RELAY_TIER_REGIONS parsed, a location's region, the staleness bound's split.
import { describe, expect, it } from "vitest";
import { parseRelayTier, stalenessShares, tierRegion } from "../../../../edge/src/live/relay-tier.ts";
import { RegionViewerCounts } from "../../../../edge/src/live/relay-viewers.ts";

describe("RELAY_TIER_REGIONS", () => {
  it("defaults to one region per continent; 'off' turns the tier off", () => {
    expect(parseRelayTier(undefined)).toEqual({ kind: "continent" });
    expect(parseRelayTier(" ")).toEqual({ kind: "continent" });
    expect(parseRelayTier("off")).toEqual({ kind: "off" });
  });

  it("reads a table of regions and their locations", () => {
    const tier = parseRelayTier("eu-west=AMS LHR,CDG; us-east = IAD EWR ;");
    expect(tier.kind).toBe("table");
    expect(tierRegion(tier, "LHR", "EU")).toBe("eu-west");
    expect(tierRegion(tier, "EWR", "NA")).toBe("us-east");
    // A location the table does not list asks the stream's object itself.
    expect(tierRegion(tier, "SYD", "OC")).toBeNull();
  });

  it("refuses a malformed table with a message naming the setting", () => {
    for (const bad of ["EU=AMS", "eu-west", "eu-west=AMS=LHR", "eu-west=ams", "eu-west=", "a=AMS; b=AMS", ";"]) {
      expect(() => parseRelayTier(bad), bad).toThrow(/RELAY_TIER_REGIONS/);
    }
  });

  it("by continent: the request's continent names the region, 'local' without one; off: none", () => {
    expect(tierRegion({ kind: "continent" }, "AMS", "EU")).toBe("eu");
    expect(tierRegion({ kind: "continent" }, "local", undefined)).toBe("local");
    expect(tierRegion({ kind: "continent" }, "AMS", "Europe")).toBe("local");
    expect(tierRegion({ kind: "off" }, "AMS", "EU")).toBeNull();
  });
});

describe("staleness shares", () => {
  it("never add up to more than the bound along any chain of holders, and give the region half", () => {
    for (const coalesce of [true, false]) {
      for (const tiered of [true, false]) {
        const { isolate, location, region } = stalenessShares(coalesce, tiered);
        expect(isolate + location + region).toBeLessThanOrEqual(1);
        if (!coalesce) expect(isolate).toBe(0);
        if (!tiered) expect(region).toBe(0);
        else expect(region).toBe(0.5);
      }
    }
    // The isolate's share with the tier on is also safe for a location the table leaves out (no region above it).
    expect(stalenessShares(true, true).isolate + stalenessShares(true, false).location).toBeLessThanOrEqual(1);
  });
});

describe("a region relay's viewer counts", () => {
  it("sums its locations' latest counts and reports the sum once per period", async () => {
    const counts = new RegionViewerCounts(20, 30_000);
    const sent: number[] = [];
    const work: Promise<unknown>[] = [];
    const send = async (viewers: number) => {
      sent.push(viewers);
    };
    counts.note("loc-a", 10, Date.now(), send, (w) => work.push(w));
    counts.note("loc-b", 5, Date.now(), send, (w) => work.push(w));
    counts.note("loc-a", 12, Date.now(), send, (w) => work.push(w));
    expect(counts.total(Date.now())).toBe(17);
    expect(work).toHaveLength(1);
    await Promise.all(work);
    expect(sent).toEqual([17]);
    // A location silent for a viewer window has no viewers left.
    expect(counts.total(Date.now() + 31_000)).toBe(0);
  });
});

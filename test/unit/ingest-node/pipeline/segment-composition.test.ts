// When a node may upload segments as `from_parts`: only to an edge that offers it, for LL-HLS, for clear media.
import { describe, expect, it } from "vitest";
import { composesSegmentsFromParts } from "../../../../ingest-node/src/pipeline/segment-composition.ts";

const encryption = { method: "AES-128" as const, key_seed: `${"A".repeat(43)}=`, rotate_every: 1 };

describe("composesSegmentsFromParts", () => {
  it("composes for a clear interactive stream when the edge offers it", () => {
    expect(composesSegmentsFromParts({ latency_mode: "interactive", encryption: null, edge_features: ["compose-segments"] })).toBe(true);
  });

  it("does not for an older edge (no edge_features: it would store the empty body as the segment)", () => {
    expect(composesSegmentsFromParts({ latency_mode: "interactive", encryption: null })).toBe(false);
    expect(composesSegmentsFromParts({ latency_mode: "interactive", encryption: null, edge_features: [] })).toBe(false);
  });

  it("does not for encrypted media (parts are sealed one by one) nor for streams without parts", () => {
    expect(composesSegmentsFromParts({ latency_mode: "interactive", encryption, edge_features: ["compose-segments"] })).toBe(false);
    expect(composesSegmentsFromParts({ latency_mode: "low", encryption: null, edge_features: ["compose-segments"] })).toBe(false);
    expect(composesSegmentsFromParts({ latency_mode: "standard", encryption: null, edge_features: ["compose-segments"] })).toBe(false);
  });
});

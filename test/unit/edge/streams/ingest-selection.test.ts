import { describe, expect, it } from "vitest";
import {
  chooseIngest,
  continentOfRegion,
  derivedRegionTable,
  type IngestSelectionInput,
  isHealthy,
  knownRegions,
  nearestRegions,
  type RegisteredNode,
} from "../../../../edge/src/streams/ingest-selection.ts";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const HEALTHY_MS = 15_000;

function node(id: string, region: string, load = 0, options: { ageS?: number; activeStreams?: number; rtmpUrl?: string } = {}): RegisteredNode {
  return {
    id,
    region,
    rtmpUrl: options.rtmpUrl ?? `rtmp://${id}.example:1935/live`,
    load,
    activeStreams: options.activeStreams ?? 0,
    lastHeartbeatAt: new Date(NOW - (options.ageS ?? 1) * 1000).toISOString(),
  };
}

function input(overrides: Partial<IngestSelectionInput>): IngestSelectionInput {
  return {
    requested: null,
    configured: { "eu-west": "rtmp://eu.default:1935/live", "us-east": "rtmp://us.default:1935/live" },
    defaultRegion: "eu-west",
    nodes: [],
    caller: {},
    regionTable: null,
    now: NOW,
    healthyMs: HEALTHY_MS,
    ...overrides,
  };
}

describe("chooseIngest", () => {
  it("uses the least-loaded healthy node of the requested region", () => {
    const choice = chooseIngest(
      input({
        requested: "eu-west",
        nodes: [node("eu-1", "eu-west", 0.8), node("eu-2", "eu-west", 0.2), node("us-1", "us-east", 0.0)],
        caller: { continent: "NA" },
      }),
    );
    expect(choice).toEqual({ region: "eu-west", ingestServer: "rtmp://eu-2.example:1935/live", nodeId: "eu-2", reason: "requested" });
  });

  it("breaks load ties by active streams, then the freshest heartbeat", () => {
    const nodes = [
      node("a", "eu-west", 0.5, { activeStreams: 3 }),
      node("b", "eu-west", 0.5, { activeStreams: 1, ageS: 9 }),
      node("c", "eu-west", 0.5, { activeStreams: 1, ageS: 2 }),
    ];
    expect(chooseIngest(input({ requested: "eu-west", nodes })).nodeId).toBe("c");
  });

  it("treats a node silent for 15 s as unhealthy", () => {
    expect(isHealthy(node("x", "eu-west", 0, { ageS: 14.9 }), NOW, HEALTHY_MS)).toBe(true);
    expect(isHealthy(node("x", "eu-west", 0, { ageS: 15 }), NOW, HEALTHY_MS)).toBe(false);
    expect(isHealthy({ ...node("x", "eu-west"), lastHeartbeatAt: null }, NOW, HEALTHY_MS)).toBe(false);
    expect(isHealthy(node("x", "eu-west", 0, { rtmpUrl: "" }), NOW, HEALTHY_MS)).toBe(false);
    const choice = chooseIngest(
      input({ requested: "eu-west", nodes: [node("eu-1", "eu-west", 0, { ageS: 20 }), node("us-1", "us-east", 0.9)], caller: { continent: "EU" } }),
    );
    expect(choice).toMatchObject({ region: "us-east", nodeId: "us-1", reason: "nearest" });
  });

  it("falls back to the region nearest the caller when the requested one has no healthy node", () => {
    const nodes = [node("us-1", "us-east", 0.9), node("ap-1", "ap-south", 0.1)];
    expect(chooseIngest(input({ requested: "eu-west", nodes, caller: { continent: "NA" } }))).toMatchObject({ region: "us-east", reason: "nearest" });
    expect(chooseIngest(input({ requested: "eu-west", nodes, caller: { continent: "AS" } }))).toMatchObject({ region: "ap-south", reason: "nearest" });
    // Europe: no European node, so the next continent in distance order (Africa, then North America) that has one.
    expect(chooseIngest(input({ requested: "eu-west", nodes, caller: { continent: "EU" } }))).toMatchObject({ region: "us-east", reason: "nearest" });
  });

  it("without a requested region, picks the nearest region with a healthy node", () => {
    const nodes = [node("eu-1", "eu-west", 0.9), node("us-1", "us-east", 0.1)];
    expect(chooseIngest(input({ nodes, caller: { continent: "EU", country: "FR" } }))).toMatchObject({ region: "eu-west", nodeId: "eu-1", reason: "nearest" });
  });

  it("follows a configured REGION_BY_CONTINENT table, country entries first", () => {
    const nodes = [node("eu-1", "eu-west", 0), node("us-1", "us-east", 0), node("x-1", "local", 0)];
    const regionTable = { EU: ["local"], "country:PT": ["us-east"] };
    expect(chooseIngest(input({ nodes, regionTable, caller: { continent: "EU", country: "DE" } }))).toMatchObject({ region: "local", reason: "nearest" });
    expect(chooseIngest(input({ nodes, regionTable, caller: { continent: "EU", country: "PT" } }))).toMatchObject({ region: "us-east", reason: "nearest" });
    // A continent the table does not name: least loaded anywhere.
    expect(
      chooseIngest(input({ nodes: [node("eu-1", "eu-west", 0.4), node("us-1", "us-east", 0.3)], regionTable, caller: { continent: "OC" } })),
    ).toMatchObject({
      region: "us-east",
      reason: "least-loaded",
    });
  });

  it("uses the least-loaded healthy node anywhere when the caller cannot be placed", () => {
    const nodes = [node("eu-1", "eu-west", 0.9), node("local-1", "local", 0.3), node("us-1", "us-east", 0.5)];
    expect(chooseIngest(input({ requested: "eu-west", nodes: nodes.slice(1) }))).toMatchObject({ nodeId: "local-1", reason: "least-loaded" });
    expect(chooseIngest(input({ nodes }))).toMatchObject({ nodeId: "local-1", region: "local", reason: "least-loaded" });
  });

  it("uses the configured default URL when no node is healthy (wrangler dev without nodes works as before)", () => {
    const stale = [node("eu-1", "eu-west", 0, { ageS: 60 })];
    expect(chooseIngest(input({ requested: "us-east", nodes: stale }))).toEqual({
      region: "us-east",
      ingestServer: "rtmp://us.default:1935/live",
      nodeId: null,
      reason: "configured-default",
    });
    expect(chooseIngest(input({ nodes: [] }))).toEqual({
      region: "eu-west",
      ingestServer: "rtmp://eu.default:1935/live",
      nodeId: null,
      reason: "configured-default",
    });
    // A region only nodes report, none healthy: the URL its freshest node advertised.
    const reported = [
      node("sa-1", "sa-east", 0, { ageS: 100, rtmpUrl: "rtmp://old:1935/live" }),
      node("sa-2", "sa-east", 0, { ageS: 30, rtmpUrl: "rtmp://newer:1935/live/" }),
    ];
    expect(chooseIngest(input({ requested: "sa-east", nodes: reported }))).toMatchObject({
      region: "sa-east",
      ingestServer: "rtmp://newer:1935/live",
      nodeId: null,
    });
  });
});

describe("regions", () => {
  it("knows configured regions and the ones registered nodes report", () => {
    expect(knownRegions({ local: "rtmp://x/live" }, [node("a", "eu-west"), node("b", "eu-west"), { ...node("c", "never"), lastHeartbeatAt: null }])).toEqual([
      "eu-west",
      "local",
    ]);
  });

  it("derives a nearest-first table from region names", () => {
    expect(continentOfRegion("eu-west-1")).toBe("EU");
    expect(continentOfRegion("us")).toBe("NA");
    expect(continentOfRegion("ap-southeast-2")).toBe("AS");
    expect(continentOfRegion("local")).toBeNull();
    const table = derivedRegionTable(["local", "us-east", "eu-west", "eu-central", "sa-east"]);
    expect(table.EU).toEqual(["eu-central", "eu-west", "us-east", "sa-east"]);
    expect(table.SA).toEqual(["sa-east", "us-east", "eu-central", "eu-west"]);
    expect(nearestRegions({ continent: "na" }, table)).toEqual(["us-east", "sa-east", "eu-central", "eu-west"]);
    expect(nearestRegions({}, table)).toEqual([]);
  });
});

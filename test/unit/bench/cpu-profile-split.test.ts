// The node's CPU profile split into parts: each sample goes to the innermost frame of a known part on its stack.
import { describe, expect, it } from "vitest";
import { type CpuProfile, splitProfile } from "../../../bench/cpu-profile-split.ts";

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url }, children });

/** root > onData (rtmp) > write (remux) > writev (native); root > request (http client) > writev; GC, idle, program. */
const PROFILE: CpuProfile = {
  nodes: [
    frame(1, "(root)", "", [2, 6, 8, 9, 10, 11]),
    frame(2, "onData", "file:///x/ingest-node/src/rtmp/rtmp-server.ts", [3]),
    frame(3, "push", "file:///x/ingest-node/src/remux/flv-remuxer.ts", [4]),
    frame(4, "writeFragment", "file:///x/ingest-node/src/remux/cmaf-fragment.ts", [5]),
    frame(5, "(anon)", ""),
    frame(6, "ClientRequest", "node:_http_client", [7]),
    frame(7, "writev", ""),
    frame(8, "(garbage collector)", ""),
    frame(9, "(idle)", ""),
    frame(10, "(program)", ""),
    frame(11, "parserData", "file:///x/node_modules/node-media-server/src/protocol/rtmp.js"),
  ],
  samples: [5, 7, 8, 9, 10, 11, 2, 5],
  timeDeltas: [1e6, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6, 1e6],
};

describe("splitProfile", () => {
  it("charges native leaves to the nearest known caller and leaves idle time out", () => {
    expect(splitProfile(PROFILE)).toEqual({ rtmp: 2, remux: 2, packaging: 0, uploads: 1, thumbnails: 0, gc: 1, other: 1 });
  });

  it("counts only the samples inside the window (seconds since the profile started)", () => {
    expect(splitProfile(PROFILE, 5.5, 8)).toMatchObject({ rtmp: 2, remux: 1, other: 0, gc: 0 });
  });
});

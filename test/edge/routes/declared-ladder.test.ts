// The multivariant playlist waits for every rendition the node's run declared: a player reads it once, so one answered
// while only the first init had arrived would hide the other renditions from it for good.
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { bytesOf, ingest, initMeta, publish, putSegment } from "../ingest-client.ts";
import { createStream, expectProblem, get, getMaster } from "../playback-helpers.ts";

/** Uploads `rendition`'s init declaring `ladder` (none: an older node), asserting 204. */
async function putDeclaredInit(streamId: string, rendition: string, epoch: number, ladder?: string[]): Promise<void> {
  const meta = { ...initMeta(epoch), ...(ladder ? { ladder } : {}) };
  const response = await ingest("PUT", ingestPaths.init(streamId, rendition), { meta, body: bytesOf(`init ${rendition}`) });
  expect(response.status, await response.text()).toBe(204);
}

describe("multivariant playlist of a declared ladder", () => {
  it("is answered only once every declared rendition has its init, and then lists them all", async () => {
    const stream = await createStream("low");
    const grant = await publish(stream.stream_key);
    const master = `/live/${stream.stream_id}/master.m3u8`;
    const ladder = ["360p", "240p", "160p"];
    await putDeclaredInit(stream.stream_id, "360p", grant.epoch, ladder);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    await expectProblem(await get(master), 404, /nothing to play yet/);
    await putDeclaredInit(stream.stream_id, "240p", grant.epoch, ladder);
    await expectProblem(await get(master), 404, /nothing to play yet/);
    await putDeclaredInit(stream.stream_id, "160p", grant.epoch, ladder);
    const { playlist } = await getMaster(master);
    expect(playlist.variants.map((v) => v.uri.split("/")[0]).sort()).toEqual([...ladder].sort());
  });

  it("lists what it has once a rendition holds three segments, should a declared init never come", async () => {
    const stream = await createStream("low");
    const grant = await publish(stream.stream_key);
    const master = `/live/${stream.stream_id}/master.m3u8`;
    await putDeclaredInit(stream.stream_id, "360p", grant.epoch, ["360p", "240p"]);
    for (const msn of [0, 1]) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    await expectProblem(await get(master), 404, /nothing to play yet/);
    await putSegment(stream.stream_id, "360p", grant.epoch, 2);
    const { playlist } = await getMaster(master);
    expect(playlist.variants).toHaveLength(1);
  });

  it("is answered at the first init from a node that declares no ladder", async () => {
    const stream = await createStream("low");
    const grant = await publish(stream.stream_key);
    await putDeclaredInit(stream.stream_id, "360p", grant.epoch);
    const { playlist } = await getMaster(`/live/${stream.stream_id}/master.m3u8`);
    expect(playlist.variants).toHaveLength(1);
  });
});

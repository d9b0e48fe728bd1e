// A segment built at the edge from the LL-HLS parts it already holds (a `from_parts` upload): the node then sends each
// byte once. The parts are read from R2 in order and written back as the segment; a missing part means the node must
// send the segment's bytes after all.
import { type MediaAddress, mediaFile, mediaKey } from "./media.ts";

/** The segment `msn` of `address`'s rendition and epoch as the concatenation of its `parts` parts, or null when one
 *  of them is not in R2 (never uploaded, or dropped by the node). */
export async function composeSegment(bucket: R2Bucket, address: Omit<MediaAddress, "file">, msn: number, parts: number): Promise<Uint8Array | null> {
  const objects = await Promise.all(Array.from({ length: parts }, (_, part) => bucket.get(mediaKey({ ...address, file: mediaFile.part(msn, part) }))));
  if (objects.some((object) => object === null)) {
    // Read bodies must be consumed or cancelled, or the runtime holds them until the request ends.
    await Promise.all(objects.map((object) => object?.body.cancel()));
    return null;
  }
  const bodies = await Promise.all(objects.map((object) => object!.arrayBuffer()));
  const segment = new Uint8Array(bodies.reduce((sum, body) => sum + body.byteLength, 0));
  let at = 0;
  for (const body of bodies) {
    segment.set(new Uint8Array(body), at);
    at += body.byteLength;
  }
  return segment;
}

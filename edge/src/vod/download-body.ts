// Streams bytes [start, end] of an MP4 download out of R2, object by object in file order, into a FixedLengthStream
// (so the response carries its Content-Length and the runtime checks every byte was sent). Objects served as stored
// are piped, with a ranged R2 read for a partial first or last one; an object to decrypt or retime is read whole (one
// segment, a few MB), rewritten and sliced. At most one object is in memory at a time.
import { shiftDecodeTimes } from "../storage/fmp4-timing.ts";
import { mediaUrlPath } from "../storage/media.ts";
import type { MediaStore } from "../storage/media-store.ts";
import { type ContentKeys, type DownloadIndex, type DownloadPiece, indexShifts } from "./download-index.ts";
import { decryptSegment } from "./segment-decryption.ts";

/** An inclusive byte range of the file. */
export interface ByteSpan {
  start: number;
  end: number;
}

async function rewritten(store: MediaStore, index: DownloadIndex, piece: DownloadPiece, keys: ContentKeys): Promise<Uint8Array> {
  const stored = await store.readMedia(piece.address);
  if (!stored) throw new Error(`download: ${mediaUrlPath(piece.address)} is gone`);
  let bytes: Uint8Array = stored;
  if (piece.decrypt) {
    const key = await keys.get(piece.decrypt.streamId, piece.decrypt.sessionId, piece.decrypt.period);
    bytes = await decryptSegment(key, piece.decrypt.msn, bytes);
  }
  if (piece.shift !== null) shiftDecodeTimes(bytes, indexShifts(index, piece.shift));
  if (bytes.byteLength !== piece.size) throw new Error(`download: ${mediaUrlPath(piece.address)} is ${bytes.byteLength} bytes, the index says ${piece.size}`);
  return bytes;
}

async function writeBytes(writable: WritableStream<Uint8Array>, bytes: Uint8Array): Promise<void> {
  const writer = writable.getWriter();
  try {
    await writer.write(bytes);
  } finally {
    writer.releaseLock();
  }
}

async function pump(store: MediaStore, index: DownloadIndex, span: ByteSpan, keys: ContentKeys, writable: WritableStream<Uint8Array>): Promise<void> {
  for (const piece of index.pieces) {
    const pieceEnd = piece.offset + piece.size - 1;
    if (pieceEnd < span.start || piece.offset > span.end) continue;
    const from = Math.max(span.start, piece.offset) - piece.offset;
    const to = Math.min(span.end, pieceEnd) - piece.offset;
    if (piece.decrypt || piece.shift !== null) {
      await writeBytes(writable, (await rewritten(store, index, piece, keys)).subarray(from, to + 1));
      continue;
    }
    const whole = from === 0 && to === piece.size - 1;
    const body = await store.mediaStream(piece.address, whole ? undefined : { offset: from, length: to - from + 1 });
    if (!body) throw new Error(`download: ${mediaUrlPath(piece.address)} is gone`);
    await body.pipeTo(writable, { preventClose: true });
  }
  await writable.close();
}

/**
 * The body of bytes `span` of the download: a stream filled as the client reads it. `waitUntil` keeps the copying
 * alive; a failure part way (an object deleted meanwhile) aborts the stream, so the client sees a short, failed body
 * rather than a complete-looking wrong one.
 */
export function downloadBody(
  store: MediaStore,
  index: DownloadIndex,
  span: ByteSpan,
  keys: ContentKeys,
  waitUntil: (work: Promise<unknown>) => void,
): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(span.end - span.start + 1);
  waitUntil(
    pump(store, index, span, keys, writable).catch(async (err: Error) => {
      console.error(`download of ${index.rendition} failed part way: ${err.message}`);
      await writable.abort(err).catch(() => undefined);
    }),
  );
  return readable;
}

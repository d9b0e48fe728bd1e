import { describe, expect, it } from "vitest";
import { announceCandidates, bridgeArgs, offerHasUsableVideo, rtpInputSdp, videoCodecOf } from "../../../../ingest-node/src/whip/whip-media-plan.ts";

const chromeOffer = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=rtpmap:111 opus/48000/2",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 102",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:102 H264/90000",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "",
].join("\r\n");

describe("WHIP codec choice", () => {
  it("takes H.264 and VP8 video, nothing else", () => {
    expect(videoCodecOf("video/H264")).toBe("h264");
    expect(videoCodecOf("video/vp8")).toBe("vp8");
    expect(videoCodecOf("video/VP9")).toBeNull();
    expect(videoCodecOf("video/AV1")).toBeNull();
  });

  it("accepts an offer with H.264 or VP8 video, refuses audio-only, AV1-only and garbage", () => {
    expect(offerHasUsableVideo(chromeOffer)).toBe(true);
    expect(offerHasUsableVideo(chromeOffer.replace(/m=video[\s\S]*$/, ""))).toBe(false);
    expect(offerHasUsableVideo("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 45\r\na=rtpmap:45 AV1/90000\r\n")).toBe(false);
    expect(offerHasUsableVideo("this is not sdp")).toBe(false);
    // An H264 rtpmap in an audio section is no video.
    expect(offerHasUsableVideo("v=0\r\nm=audio 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n")).toBe(false);
  });
});

describe("the local FFmpeg's input and arguments", () => {
  const media = { video: { codec: "h264" as const, payloadType: 102, port: 40000 }, audio: { payloadType: 111, port: 40002, channels: 2 } };

  it("describes both RTP streams on loopback with their payload types", () => {
    const sdp = rtpInputSdp(media);
    expect(sdp).toContain("c=IN IP4 127.0.0.1");
    expect(sdp).toContain("m=video 40000 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1");
    expect(sdp).toContain("m=audio 40002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2");
    expect(rtpInputSdp({ ...media, audio: null })).not.toContain("m=audio");
  });

  it("copies H.264, encodes Opus to AAC, writes FLV to stdout", () => {
    const args = bridgeArgs({ media, segmentTarget: 2, preset: "veryfast" }).join(" ");
    expect(args).toContain("-f sdp -i pipe:0");
    expect(args).toContain("-c:v copy");
    expect(args).toContain("-c:a aac");
    expect(args).toMatch(/-f flv .*pipe:1$/);
    expect(args).not.toContain("libx264");
  });

  it("encodes VP8 to H.264 with a keyframe at each segment target; no audio map without audio", () => {
    const args = bridgeArgs({ media: { video: { ...media.video, codec: "vp8" }, audio: null }, segmentTarget: 6, preset: "ultrafast" }).join(" ");
    expect(args).toContain("-c:v libx264 -preset ultrafast");
    expect(args).toContain("expr:gte(t,n_forced*6)");
    expect(args).not.toContain("0:a:0");
    expect(args).not.toContain("-c:a");
  });
});

describe("announceCandidates (1:1 NAT)", () => {
  it("rewrites IPv4 host candidates to the public address, once per port", () => {
    const sdp = [
      "c=IN IP4 10.0.0.5",
      "a=candidate:1 1 udp 2116026367 10.0.0.5 20000 typ host generation 0",
      "a=candidate:2 1 udp 2116026367 172.17.0.2 20000 typ host generation 0",
      "a=candidate:3 1 udp 2116026367 10.0.0.5 20001 typ host generation 0",
      "a=end-of-candidates",
    ].join("\r\n");
    expect(announceCandidates(sdp, "203.0.113.7").split("\r\n")).toEqual([
      "c=IN IP4 203.0.113.7",
      "a=candidate:1 1 udp 2116026367 203.0.113.7 20000 typ host generation 0",
      "a=candidate:3 1 udp 2116026367 203.0.113.7 20001 typ host generation 0",
      "a=end-of-candidates",
    ]);
  });
});

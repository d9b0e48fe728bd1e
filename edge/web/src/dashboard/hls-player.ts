// An hls.js player on a <video> for the dashboard (live preview, VOD and clip playback).
import type Hls from "hls.js";
import { hlsClass } from "../hls-global.ts";

/** A started player: `stop` destroys it and empties the video. */
export interface Player {
  hls: Hls | null;
  stop(): void;
}

/** Plays `url` muted in `video` with hls.js (native HLS where hls.js cannot run); `onFatal` hears an unrecoverable error. */
export function playHls(video: HTMLVideoElement, url: string, options: { lowLatency?: boolean; onFatal?: (details: string) => void } = {}): Player {
  const HlsJs = hlsClass();
  video.muted = true;
  if (!HlsJs?.isSupported()) {
    video.src = url;
    void video.play().catch(() => {});
    return {
      hls: null,
      stop: () => {
        video.removeAttribute("src");
        video.load();
      },
    };
  }
  const hls = new HlsJs({ lowLatencyMode: options.lowLatency ?? false });
  hls.on(HlsJs.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
  hls.on(HlsJs.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    if (data.type === HlsJs.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else options.onFatal?.(data.details);
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return { hls, stop: () => hls.destroy() };
}

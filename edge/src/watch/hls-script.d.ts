// hls.js's minified browser build, bundled as text by the `rules` entry in wrangler.jsonc.
declare module "hls.js/dist/hls.min.js" {
  const source: string;
  export default source;
}

// esbuild bundles imported stylesheets into the entry point's .css file (scripts/build-web.ts).
declare module "*.css" {}

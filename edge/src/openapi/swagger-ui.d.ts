// Swagger UI's browser build and stylesheet, bundled as text by the `rules` entry in wrangler.jsonc.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const source: string;
  export default source;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const source: string;
  export default source;
}

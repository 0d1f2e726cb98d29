// The /docs page: interactive API documentation generated in the browser from
// the model's /openapi.json. Plain strings, so `deno compile` embeds them.

export { DOCS_HTML } from "./page.ts";
export { DOCS_JS } from "./docs_js.ts";

// The playground: a self-contained web page (HTML, CSS, vanilla JS as plain
// strings, so `deno compile` embeds them) served by the model server itself.
// client_lib.ts holds the pure helpers it shares with /docs.

export { PLAYGROUND_HTML } from "./page.ts";
export { PLAYGROUND_JS } from "./playground_js.ts";
export { UI_CSS } from "./style.ts";
export { CLIENT_LIB_JS } from "./client_lib.ts";

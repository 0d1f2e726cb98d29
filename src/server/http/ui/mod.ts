// The browser side of the server: the playground (GET /) and /docs pages, their
// stylesheet and their ES-module scripts. They are real files beside this module
// (checked, linted and formatted like the rest), imported as text so that
// `deno compile` embeds them and a run from source (the Docker runtime copies
// src/) reads them from the same place.

import DOCS_HTML from "./docs.html" with { type: "text" };
import DOCS_JS from "./docs.js" with { type: "text" };
import DOM_JS from "./dom.js" with { type: "text" };
import FORM_JS from "./form.js" with { type: "text" };
import LIB_JS from "./lib.js" with { type: "text" };
import OUTPUT_JS from "./output.js" with { type: "text" };
import PLAYGROUND_HTML from "./playground.html" with { type: "text" };
import PLAYGROUND_JS from "./playground.js" with { type: "text" };
import UI_CSS from "./ui.css" with { type: "text" };

/** One file the pages load, with its content type. */
export interface UiAsset {
  body: string;
  type: string;
}

const JS = "text/javascript; charset=utf-8";

/** HTML served at GET / to browsers. */
export { PLAYGROUND_HTML };

/** HTML served at GET /docs. */
export { DOCS_HTML };

/**
 * What the pages load, by path. The scripts import each other by relative URL
 * (`./lib.js`), so each is served under its own file name, side by side.
 */
export const UI_ASSETS: Readonly<Record<string, UiAsset>> = {
  "/_cog/ui.css": { body: UI_CSS, type: "text/css; charset=utf-8" },
  "/_cog/lib.js": { body: LIB_JS, type: JS },
  "/_cog/dom.js": { body: DOM_JS, type: JS },
  "/_cog/form.js": { body: FORM_JS, type: JS },
  "/_cog/output.js": { body: OUTPUT_JS, type: JS },
  "/_cog/playground.js": { body: PLAYGROUND_JS, type: JS },
  "/_cog/docs.js": { body: DOCS_JS, type: JS },
};

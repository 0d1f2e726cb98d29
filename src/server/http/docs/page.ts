// The /docs HTML shell: interactive API documentation rendered by docs.js
// from /openapi.json, with the same stylesheet and no external resources.

/** HTML served at GET /docs. */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cog API docs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="_cog/ui.css">
<script src="_cog/lib.js" defer></script>
<script src="_cog/docs.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand">cog <span>API docs</span></div>
  <span id="health" class="badge" title="/health-check">…</span>
  <nav>
    <a href="./">Playground</a>
    <a class="current" href="docs">API docs</a>
    <a href="openapi.json">openapi.json</a>
  </nav>
</header>
<main class="single">
  <div id="notice" class="notice">Loading the model's schema…</div>
  <div id="docs" class="hidden">
    <section class="panel" id="overview"></section>
    <section class="panel" id="inputs-panel">
      <h2>Inputs</h2>
      <div id="inputs"></div>
    </section>
    <section class="panel" id="output-panel">
      <h2>Output</h2>
      <div id="output-schema"></div>
    </section>
    <section class="panel" id="endpoints-panel">
      <h2>Endpoints <span class="hint">click one to expand it and try it</span></h2>
      <div id="endpoints"></div>
    </section>
    <section class="panel" id="other-apis">
      <h2>Other ways in</h2>
      <p>Replicate's HTTP API is served under <code>/v1</code>: point the official clients at
      <code>http://HOST:PORT/v1</code> (JavaScript <code>baseUrl</code>) or
      <code>http://HOST:PORT</code> (Python <code>base_url</code>) and run any
      <code>owner/name</code> reference; <code>POST /v1/files</code> uploads file inputs.
      WebSocket streaming: open <code>ws://HOST:PORT/predictions</code>, send the JSON body of
      <code>POST /predictions</code>, receive one <code>{"event", "data"}</code> message per event.
      <code>GET /predictions/{id}</code> reads any recent prediction.</p>
    </section>
    <section class="panel" id="schemas-panel">
      <h2>All schemas</h2>
      <div id="schemas"></div>
    </section>
  </div>
</main>
</body>
</html>
`;

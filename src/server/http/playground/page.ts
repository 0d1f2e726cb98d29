// The playground's HTML shell. Everything it loads comes from this server
// (relative URLs, so it also works behind a path-prefixing proxy); the form is
// built by playground.js from /openapi.json.

/** HTML served at GET / to browsers. */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cog playground</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="_cog/ui.css">
<script src="_cog/lib.js" defer></script>
<script src="_cog/playground.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand">cog <span>playground</span></div>
  <span id="health" class="badge" title="/health-check">…</span>
  <nav>
    <a class="current" href="./">Playground</a>
    <a href="docs">API docs</a>
    <a href="openapi.json">openapi.json</a>
  </nav>
</header>
<main class="grid">
  <section class="panel" aria-labelledby="input-title">
    <h2 id="input-title">Input <span class="hint" id="input-hint"></span></h2>
    <div id="notice" class="notice">Loading the model's schema…</div>
    <pre id="setup-logs" class="block logs hidden"></pre>
    <form id="form" class="hidden" novalidate>
      <div id="fields"></div>
      <div class="actions">
        <button type="submit" id="run" class="primary">Run</button>
        <button type="button" id="cancel" disabled>Cancel</button>
        <button type="button" id="reset">Reset</button>
        <span class="hint">Ctrl+Enter runs</span>
      </div>
    </form>
  </section>
  <section class="panel" aria-labelledby="output-title">
    <h2 id="output-title">Output <span class="hint" id="output-type"></span></h2>
    <div class="status-row">
      <span id="status" class="badge" data-status="idle">idle</span>
      <span id="timing" class="timing"></span>
      <span id="pid" class="pid"></span>
    </div>
    <div id="error" class="error-box hidden" role="alert"></div>
    <div id="output" class="output" aria-live="polite">
      <div class="empty">Run the model to see its output here.</div>
    </div>
    <div class="section-head"><h3>Logs</h3></div>
    <pre id="logs" class="block logs"></pre>
    <div class="section-head">
      <h3>curl</h3><span class="grow"></span>
      <button class="small" id="copy-curl" type="button">Copy</button>
    </div>
    <pre id="curl" class="block">Fill the form to see the equivalent request.</pre>
    <details>
      <summary>Response JSON</summary>
      <pre id="raw" class="json"></pre>
    </details>
  </section>
</main>
</body>
</html>
`;

// The stylesheet shared by the playground and /docs pages: system fonts only,
// light and dark schemes, no external resources.

/** CSS served at /_cog/ui.css. */
export const UI_CSS = String.raw`
:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1b1f24; --muted: #5d6670; --border: #dde1e6;
  --accent: #2f5bea; --accent-text: #ffffff; --code-bg: #f1f3f6; --danger: #c62828;
  --ok: #1b7f3b; --warn: #a86200; --radius: 8px;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --panel: #191d23; --text: #e6e9ee; --muted: #98a2ad; --border: #2c333c;
    --accent: #6d8cff; --accent-text: #0b0d10; --code-bg: #12161b; --danger: #ff6b6b;
    --ok: #4cc47a; --warn: #f0a64a;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  background: var(--bg); color: var(--text); line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--accent); }
code, pre, .mono { font-family: var(--mono); font-size: 13px; }
header.top {
  display: flex; align-items: center; gap: 16px; padding: 12px 24px;
  background: var(--panel); border-bottom: 1px solid var(--border);
}
header.top .brand { font-weight: 700; font-size: 18px; letter-spacing: -0.01em; }
header.top .brand span { color: var(--muted); font-weight: 500; }
header.top nav { margin-left: auto; display: flex; gap: 16px; align-items: center; }
header.top nav a { text-decoration: none; font-size: 14px; }
header.top nav a.current { color: var(--text); font-weight: 600; }
.badge {
  display: inline-block; padding: 2px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  border: 1px solid var(--border); color: var(--muted); background: var(--code-bg);
  text-transform: uppercase; letter-spacing: 0.03em;
}
.badge.ok, .badge.succeeded, .badge.READY { color: var(--ok); border-color: currentColor; }
.badge.warn, .badge.starting, .badge.processing, .badge.STARTING, .badge.BUSY {
  color: var(--warn); border-color: currentColor;
}
.badge.failed, .badge.canceled, .badge.SETUP_FAILED, .badge.DEFUNCT, .badge.UNHEALTHY {
  color: var(--danger); border-color: currentColor;
}
main.grid {
  display: grid; grid-template-columns: minmax(320px, 1fr) minmax(360px, 1.25fr); gap: 20px;
  padding: 20px 24px; max-width: 1400px; margin: 0 auto;
}
main.single { padding: 20px 24px; max-width: 1100px; margin: 0 auto; }
@media (max-width: 900px) { main.grid { grid-template-columns: 1fr; } }
.panel {
  background: var(--panel); border: 1px solid var(--border); border-radius: var(--radius);
  padding: 16px 18px; min-width: 0;
}
main.single .panel + .panel { margin-top: 16px; }
.panel h2 { font-size: 15px; margin: 0 0 12px; display: flex; gap: 8px; align-items: center; }
.panel h2 .hint { font-weight: 400; color: var(--muted); font-size: 13px; }
.panel h3 { font-size: 14px; margin: 16px 0 6px; }
.field { margin-bottom: 16px; }
.field label.name { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.field label.name code { font-weight: 700; font-size: 14px; }
.field .type { color: var(--muted); font-size: 12px; font-family: var(--mono); }
.field .req { color: var(--danger); font-size: 12px; }
.field .desc { color: var(--muted); font-size: 13px; margin: 2px 0 6px; }
.field .meta { color: var(--muted); font-size: 12px; margin-top: 4px; }
.field .error { color: var(--danger); font-size: 13px; margin-top: 4px; }
.field.invalid input, .field.invalid textarea, .field.invalid select { border-color: var(--danger); }
input[type=text], input[type=number], input[type=password], input[type=url], textarea, select {
  width: 100%; padding: 7px 9px; border: 1px solid var(--border); border-radius: 6px;
  background: var(--bg); color: var(--text); font: inherit;
}
textarea { font-family: var(--mono); font-size: 13px; min-height: 64px; resize: vertical; }
input:focus, textarea:focus, select:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
.range-row { display: flex; gap: 10px; align-items: center; }
.range-row input[type=range] { flex: 1; accent-color: var(--accent); }
.range-row input[type=number] { width: 110px; flex: none; }
.check-row { display: flex; gap: 8px; align-items: center; }
.check-row input { width: 18px; height: 18px; accent-color: var(--accent); }
.file-row { display: grid; gap: 6px; }
.file-row .preview img { max-width: 160px; max-height: 120px; border-radius: 4px; }
.actions { display: flex; gap: 10px; align-items: center; margin-top: 8px; flex-wrap: wrap; }
button {
  font: inherit; font-weight: 600; padding: 8px 16px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border); background: var(--panel); color: var(--text);
}
button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
button:disabled { opacity: 0.45; cursor: not-allowed; }
button.small { padding: 3px 10px; font-size: 12px; font-weight: 500; }
.status-row { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 12px; }
.status-row .timing { color: var(--muted); font-size: 13px; font-variant-numeric: tabular-nums; }
.status-row .pid { color: var(--muted); font-size: 12px; font-family: var(--mono); }
.output { min-height: 80px; }
.output .empty { color: var(--muted); font-style: italic; }
.output img, .output video { max-width: 100%; border-radius: 6px; display: block; background: var(--code-bg); }
.output img.pixel { image-rendering: pixelated; min-width: 128px; }
.output audio { width: 100%; }
.output .item + .item { margin-top: 12px; }
.output .caption { font-size: 12px; color: var(--muted); margin-top: 4px; }
pre.text-output {
  white-space: pre-wrap; word-break: break-word; margin: 0; font-family: inherit; font-size: 15px;
}
pre.block, pre.json {
  background: var(--code-bg); border: 1px solid var(--border); border-radius: 6px; padding: 10px 12px;
  margin: 0; overflow: auto; max-height: 420px; white-space: pre-wrap; word-break: break-word;
}
pre.logs { max-height: 260px; min-height: 2.5em; }
.error-box {
  border: 1px solid var(--danger); color: var(--danger); border-radius: 6px; padding: 10px 12px;
  white-space: pre-wrap; font-family: var(--mono); font-size: 13px; margin-bottom: 12px;
}
.section-head { display: flex; align-items: center; gap: 8px; margin: 16px 0 6px; }
.section-head h3 { margin: 0; }
.section-head .grow { flex: 1; }
.notice { padding: 12px 14px; border-radius: 6px; background: var(--code-bg); color: var(--muted); }
.hidden { display: none !important; }
table.schema { width: 100%; border-collapse: collapse; font-size: 14px; }
table.schema th, table.schema td {
  text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--border); vertical-align: top;
}
table.schema th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; }
table.schema td code { white-space: nowrap; }
.endpoint { border: 1px solid var(--border); border-radius: var(--radius); margin-bottom: 12px; }
.endpoint > summary {
  list-style: none; cursor: pointer; padding: 10px 14px; display: flex; gap: 12px; align-items: center;
}
.endpoint > summary::-webkit-details-marker { display: none; }
.endpoint > .body { padding: 4px 14px 14px; border-top: 1px solid var(--border); }
.method {
  font-family: var(--mono); font-weight: 700; font-size: 12px; padding: 2px 8px; border-radius: 4px;
  min-width: 56px; text-align: center; color: #fff; background: #59636e;
}
.method.get { background: #1f7a4d; }
.method.post { background: #2f5bea; }
.method.put { background: #9a5b00; }
.endpoint .path { font-family: var(--mono); font-weight: 600; }
.endpoint .summary { color: var(--muted); font-size: 14px; }
.toc { columns: 2; font-size: 14px; }
`;

/**
 * The status page: one HTML document, its script and its style sheet, all served by the proxy itself
 * (no external assets, no inline code: the Content-Security-Policy in status.ts allows only 'self').
 * The script is in status-script.ts.
 */

export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>cxone-auth-proxy status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/_proxy/status.css">
<script src="/_proxy/status.js" defer></script>
</head>
<body>
<header>
<h1>cxone-auth-proxy</h1>
<p id="updated" class="muted">loading…</p>
</header>
<p id="problem" class="banner" hidden></p>
<main id="profiles"></main>
<details class="card" id="settings-card">
<summary><h2>Effective settings</h2> <span class="muted">secrets masked</span></summary>
<table id="settings" class="kv settings"></table>
</details>
<noscript><p>Without JavaScript this view does not update: reload the page, or read <a href="/_proxy/status.json">/_proxy/status.json</a>.</p></noscript>
</body>
</html>
`

export const STATUS_CSS = `:root { --fg: #1b1f24; --muted: #5c6670; --bg: #f6f7f9; --card: #fff; --line: #dde1e6; --ok: #17753a; --warn: #9a6200; --bad: #b42318; --bar: #3b6fd8; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa4ae; --bg: #15181c; --card: #1e2227; --line: #333a42; --ok: #4cc27a; --warn: #e0a93a; --bad: #ff7b6e; --bar: #6f9bff; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 0.75rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1rem; }
h1 { font-size: 1.3rem; margin: 0.25rem 0; }
h2 { font-size: 1.1rem; margin: 0 0 0.5rem; display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }
h3 { font-size: 1rem; margin: 0 0 0.4rem; }
code { font: 0.9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.muted { color: var(--muted); margin: 0; }
.banner { background: var(--bad); color: #fff; padding: 0.5rem 0.75rem; border-radius: 6px; }
.profile { margin: 0.75rem 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 0.75rem; margin-bottom: 0.75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem; margin-bottom: 0.75rem; min-width: 0; }
.grid .card { margin-bottom: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.25rem 0.5rem 0.25rem 0; border-bottom: 1px solid var(--line); }
.kv th { font-weight: 500; color: var(--muted); width: 38%; overflow-wrap: anywhere; }
td { overflow-wrap: anywhere; }
.num { text-align: right; white-space: nowrap; }
.badge { font-size: 0.8rem; font-weight: 600; padding: 0.1rem 0.5rem; border-radius: 999px; color: #fff; }
.badge.valid { background: var(--ok); }
.badge.fetching { background: var(--warn); }
.badge.failing { background: var(--bad); }
.countdown { font-variant-numeric: tabular-nums; font-weight: 600; }
.chart { display: flex; align-items: flex-end; gap: 2px; height: 3.5rem; margin: 0.5rem 0 0.2rem; border-bottom: 1px solid var(--line); }
.col { flex: 1; background: var(--bar); border-radius: 2px 2px 0 0; position: relative; }
.col .fail { position: absolute; left: 0; right: 0; bottom: 0; background: var(--bad); }
${Array.from({ length: 21 }, (_, i) => `.h${i * 5} { height: ${i * 5}%; }`).join(' ')}
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.8rem; margin-bottom: 0.4rem; }
summary { cursor: pointer; display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem; }
summary h2 { display: inline; margin: 0; }
details[open] summary { margin-bottom: 0.5rem; }
.settings th { width: auto; }
.settings td { width: 55%; }
.bad { color: var(--bad); }
ol.errors { list-style: none; margin: 0; padding: 0; }
ol.errors li { border-bottom: 1px solid var(--line); padding: 0.4rem 0; }
ol.errors li:last-child { border-bottom: 0; }
.err-head { display: flex; flex-wrap: wrap; gap: 0 0.5rem; align-items: baseline; }
.status { font-weight: 700; color: var(--bad); }
.err-msg { color: var(--muted); font-size: 0.9rem; }
`

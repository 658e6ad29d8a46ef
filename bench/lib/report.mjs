// Medians, the printed tables, ratios and the target checks.

export function median (values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

const mb = (x) => x.toFixed(1)

/** Rows of the table. `once`: measured once per column (at idle), not per round. */
export const METRICS = [
  { key: 'rps', label: 'req/s at saturation (-t2 -c50)', fmt: (x) => Math.round(x).toLocaleString('en-US') },
  { key: 'p50c1', label: 'p50 latency, 1 connection (ms)', fmt: (x) => x.toFixed(3) },
  { key: 'p99c1', label: 'p99 latency, 1 connection (ms)', fmt: (x) => x.toFixed(3) },
  { key: 'p50c50', label: 'p50 latency, 50 connections (ms)', fmt: (x) => x.toFixed(2) },
  { key: 'p99c50', label: 'p99 latency, 50 connections (ms)', fmt: (x) => x.toFixed(2) },
  { key: 'cpuUsPerReq', label: 'CPU time per request (µs)', fmt: (x) => x.toFixed(1) },
  { key: 'peakRssMB', label: 'peak total RSS, VmHWM (MB)', fmt: mb },
  { key: 'peakAnonMB', label: 'peak anonymous RSS under load (MB)', fmt: mb },
  { key: 'idleRssMB', label: 'total RSS at idle (MB)', fmt: mb, once: true },
  { key: 'idleAnonMB', label: 'anonymous RSS at idle (MB)', fmt: mb, once: true }
]

/** The ratio columns: the proxy over each baseline that ran. */
export const RATIOS = [
  { key: 'proxyOverFastify', over: 'fastify', label: 'proxy/bare Fastify' },
  { key: 'proxyOverNodeHttpProxy', over: 'nodeHttpProxy', label: 'proxy/node-http-proxy' },
  { key: 'proxyOverNginx', over: 'nginx', label: 'proxy/nginx' },
  { key: 'proxyOverDirect', over: 'direct', label: 'proxy/direct' }
]

/** Median of each metric over the rounds; peaks are the maximum over the rounds (VmHWM only grows). */
export function summarise (rounds, once = {}) {
  const out = {}
  for (const { key, once: single } of METRICS) {
    if (single) { out[key] = once[key] ?? NaN; continue }
    const values = rounds.map((r) => r[key])
    out[key] = key.startsWith('peak') ? Math.max(...values.filter(Number.isFinite), -Infinity) : median(values)
    if (out[key] === -Infinity) out[key] = NaN
  }
  return out
}

export function ratios (a, b = {}) {
  const out = {}
  for (const { key } of METRICS) out[key] = Number.isFinite(a[key]) && Number.isFinite(b[key]) && b[key] !== 0 ? a[key] / b[key] : NaN
  return out
}

/** `key` of the proxy over each baseline, round by round (same round, neighbouring runs): the spread behind a ratio of medians. */
export function paired (rounds, key = 'rps') {
  const out = {}
  for (const r of RATIOS) {
    const base = rounds[r.over]
    if (base === undefined || r.over === 'direct') continue
    out[r.key] = rounds.proxy.map((p, i) => p[key] / base[i][key])
  }
  return out
}

export const pairedRps = (rounds) => paired(rounds, 'rps')

/** Every ratio column, keyed as in RATIOS (NaN where the baseline did not run). */
export function allRatios (summary) {
  return Object.fromEntries(RATIOS.map((r) => [r.key, ratios(summary.proxy, summary[r.over])]))
}

const cell = (x, fmt) => Number.isFinite(x) ? fmt(x) : '—'
const ratio = (x) => Number.isFinite(x) ? `${x.toFixed(2)}×` : '—'

/** A Markdown table (it reads as plain text too); every column but the first is right-aligned. */
export function markdown (head, rows) {
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => String(r[i]).length)))
  const line = (r) => `| ${r.map((c, i) => i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])).join(' | ')} |`
  const sep = `|${widths.map((w, i) => i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`).join('|')}|`
  return [line(head), sep, ...rows.map(line)].join('\n')
}

/** The results table: one column per target that ran, then the ratios whose baseline ran. */
export function table (summary, columns) {
  const shown = RATIOS.filter((r) => columns.some((c) => c.key === r.over))
  const head = ['', ...columns.map((c) => c.label), ...shown.map((r) => r.label)]
  const rows = METRICS.map(({ key, label, fmt }) => [
    label,
    ...columns.map((c) => cell(summary[c.key]?.[key], fmt)),
    ...shown.map((r) => ratio(summary.ratios[r.key][key]))
  ])
  return markdown(head, rows)
}

const check = (value, ok, text) => ({ value: Number.isFinite(value) ? text : 'not measured', met: Number.isFinite(value) ? ok : null })

/** Issue 6's and issue 10's targets, each met or missed, with the measured value. */
export function targets (summary, startup) {
  const p = summary.proxy
  const r = summary.ratios
  const added = p.p50c1 - (summary.direct?.p50c1 ?? NaN)
  const ready = startup?.medians.proxyReady ?? NaN
  return [
    { target: 'req/s ≥ 1.0× bare Fastify + @fastify/http-proxy', ...check(r.proxyOverFastify.rps, r.proxyOverFastify.rps >= 1, `${r.proxyOverFastify.rps.toFixed(2)}×`) },
    { target: 'req/s ≥ 1.0× node-http-proxy', ...check(r.proxyOverNodeHttpProxy.rps, r.proxyOverNodeHttpProxy.rps >= 1, `${r.proxyOverNodeHttpProxy.rps.toFixed(2)}×`) },
    { target: 'CPU per request ≤ 1.0× bare Fastify + @fastify/http-proxy (median of the paired ratios)', ...check(median(summary.pairedCpu?.proxyOverFastify ?? []), median(summary.pairedCpu?.proxyOverFastify ?? []) <= 1, `${median(summary.pairedCpu?.proxyOverFastify ?? []).toFixed(2)}×`) },
    { target: 'req/s ≥ 0.45× nginx', ...check(r.proxyOverNginx.rps, r.proxyOverNginx.rps >= 0.45, `${r.proxyOverNginx.rps.toFixed(2)}×`) },
    { target: 'added p50 over direct at 1 connection ≤ 0.5 ms', ...check(added, added <= 0.5, `${added.toFixed(3)} ms`) },
    { target: 'anonymous RSS at idle ≤ 40 MB', ...check(p.idleAnonMB, p.idleAnonMB <= 40, `${mb(p.idleAnonMB)} MB`) },
    { target: 'peak anonymous RSS under load ≤ 64 MB', ...check(p.peakAnonMB, p.peakAnonMB <= 64, `${mb(p.peakAnonMB)} MB`) },
    { target: 'peak total RSS ≤ 100 MB', ...check(p.peakRssMB, p.peakRssMB <= 100, `${mb(p.peakRssMB)} MB`) },
    { target: 'ready (token held) ≤ 300 ms after start', ...check(ready, ready <= 300, `${ready.toFixed(0)} ms`) }
  ]
}

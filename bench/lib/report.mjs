// Medians, the printed table, ratios and the target checks.

export function median (values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

export const METRICS = [
  { key: 'rps', label: 'req/s at saturation (-t2 -c50)', fmt: (x) => Math.round(x).toLocaleString('en-US') },
  { key: 'p50c1', label: 'p50 latency, 1 connection (ms)', fmt: (x) => x.toFixed(3) },
  { key: 'p99c1', label: 'p99 latency, 1 connection (ms)', fmt: (x) => x.toFixed(3) },
  { key: 'p50c50', label: 'p50 latency, 50 connections (ms)', fmt: (x) => x.toFixed(2) },
  { key: 'p99c50', label: 'p99 latency, 50 connections (ms)', fmt: (x) => x.toFixed(2) },
  { key: 'cpuUsPerReq', label: 'CPU time per request (µs)', fmt: (x) => x.toFixed(1) },
  { key: 'peakRssMB', label: 'peak RSS (MB)', fmt: (x) => x.toFixed(1) },
  { key: 'peakAnonMB', label: 'of which anonymous, peak sampled (MB)', fmt: (x) => x.toFixed(1) }
]

/** Median of each metric over the rounds; peaks are the maximum over the rounds (VmHWM only grows). */
export function summarise (rounds) {
  const out = {}
  for (const { key } of METRICS) {
    const values = rounds.map((r) => r[key])
    out[key] = key.startsWith('peak') ? Math.max(...values.filter(Number.isFinite), -Infinity) : median(values)
    if (out[key] === -Infinity) out[key] = NaN
  }
  return out
}

export function ratios (a, b) {
  const out = {}
  for (const { key } of METRICS) out[key] = Number.isFinite(a[key]) && Number.isFinite(b[key]) && b[key] !== 0 ? a[key] / b[key] : NaN
  return out
}

const cell = (x, fmt) => Number.isFinite(x) ? fmt(x) : '—'
const ratio = (x) => Number.isFinite(x) ? `${x.toFixed(2)}×` : '—'

/** The table as Markdown (it reads as plain text too, and goes into the README as is). */
export function table (summary, columns) {
  const head = ['', ...columns.map((c) => c.label), 'proxy/nginx', 'proxy/direct']
  const rows = METRICS.map(({ key, label, fmt }) => [
    label,
    ...columns.map((c) => cell(summary[c.key]?.[key], fmt)),
    ratio(summary.ratios.proxyOverNginx[key]),
    ratio(summary.ratios.proxyOverDirect[key])
  ])
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => String(r[i]).length)))
  const line = (r) => `| ${r.map((c, i) => i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])).join(' | ')} |`
  const sep = `|${widths.map((w, i) => i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`).join('|')}|`
  return [line(head), sep, ...rows.map(line)].join('\n')
}

/** The issue's targets, each met or missed, with the measured value. */
export function targets (summary) {
  const p = summary.proxy
  const vsNginx = summary.ratios.proxyOverNginx.rps
  const added = p.p50c1 - (summary.direct?.p50c1 ?? NaN)
  return [
    { target: 'req/s ≥ 0.45× nginx', value: Number.isFinite(vsNginx) ? `${vsNginx.toFixed(2)}×` : 'no nginx column', met: Number.isFinite(vsNginx) ? vsNginx >= 0.45 : null },
    { target: 'added p50 over direct at 1 connection ≤ 0.5 ms', value: `${added.toFixed(3)} ms`, met: Number.isFinite(added) ? added <= 0.5 : null },
    { target: 'peak RSS ≤ 100 MB', value: `${p.peakRssMB.toFixed(1)} MB`, met: Number.isFinite(p.peakRssMB) ? p.peakRssMB <= 100 : null }
  ]
}

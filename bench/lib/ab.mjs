// Interleaved A/B runs at saturation: each round runs every variant once, starting one further along
// (A B C, B C A, C A B …) so no variant always follows the same neighbour.
import { cpuSeconds, memory } from './procstat.mjs'
import { median } from './report.mjs'
import { runWrk } from './wrk.mjs'

/** One run (-t2 -c50 by default: saturation) against `url`, with the CPU time and peak RSS of `pid`. */
export async function load (url, seconds, wrk, pid, connections = 50) {
  const cpu0 = cpuSeconds(pid)
  const r = await runWrk({ url, threads: Math.min(2, connections), connections, seconds, wrk })
  if (r.non2xx > 0) throw new Error(`${url}: ${r.non2xx} non-2xx answers; the run is not valid`)
  return { rps: r.rps, p50: r.p50, p99: r.p99, cpuUsPerReq: (cpuSeconds(pid) - cpu0) * 1e6 / r.requests, peakRssMB: memory(pid).peakRss / 1e6 }
}

/** variants: [{ key, url, pid }]; the first is the baseline of the deltas. */
export async function runVariants (variants, { rounds, seconds, warmup = 3, wrk, connections = 50 }) {
  if (warmup > 0) for (const v of variants) await load(v.url, warmup, wrk, v.pid)
  const runs = variants.map(() => [])
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < variants.length; j++) {
      const k = (i + j) % variants.length
      runs[k].push(await load(variants[k].url, seconds, wrk, variants[k].pid, connections))
    }
  }
  const med = (k, key) => median(runs[k].map((r) => r[key]))
  const base = { rps: med(0, 'rps'), cpu: med(0, 'cpuUsPerReq') }
  return variants.map((v, k) => ({
    variant: v.key,
    rps: med(k, 'rps'),
    cpuUsPerReq: med(k, 'cpuUsPerReq'),
    p50: med(k, 'p50'),
    p99: med(k, 'p99'),
    peakRssMB: Math.max(...runs[k].map((r) => r.peakRssMB)),
    rpsVsFirst: med(k, 'rps') / base.rps,
    cpuDeltaUs: med(k, 'cpuUsPerReq') - base.cpu,
    runs: runs[k]
  }))
}

export function formatVariants (results) {
  return results.map((r) => {
    const d = r.cpuDeltaUs
    return `  ${String(Math.round(r.rps)).padStart(6)} req/s (${r.rpsVsFirst.toFixed(2)}×)  ${r.cpuUsPerReq.toFixed(1).padStart(6)} µs CPU/req (${d >= 0 ? '+' : ''}${d.toFixed(1)})  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(1)} ms  peak RSS ${r.peakRssMB.toFixed(0)} MB  ${r.variant}`
  }).join('\n')
}

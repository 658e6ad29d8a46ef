// What one column gets measured with: a check of its answer, memory at idle, and the interleaved rounds of load
// (wrk -t2 -c50 with CPU and memory of its process, then wrk -t1 -c1 for latency).
import { loadavg } from 'node:os'
import { setInterval, clearInterval } from 'node:timers'
import { setTimeout as sleep } from 'node:timers/promises'
import { API_PATH } from '../upstream.mjs'
import { cpuSeconds, memory } from './procstat.mjs'
import { runWrk } from './wrk.mjs'

/** After every server has started and before any load: lets start-up garbage go before idle memory is read. */
export const IDLE_SETTLE_MS = 2_000
/** How often RssAnon is read under load (VmHWM has no anonymous-only twin). */
const ANON_SAMPLE_MS = 200

/** The answer through `target` must be the upstream's, and proxies must have added the bearer. */
export async function verify (target, upstream, expected) {
  const res = await fetch(`${target.url}${API_PATH}`)
  const body = Buffer.from(await res.arrayBuffer())
  if (res.status !== 200 || !body.equals(expected)) throw new Error(`${target.key}: ${API_PATH} answered ${res.status} with ${body.length} bytes, not the upstream's ${expected.length}`)
  if (target.key === 'direct') return
  const auth = await (await fetch(`${upstream.origin}/bench/last-auth`)).text()
  if (!auth.startsWith('Bearer ')) throw new Error(`${target.key}: the upstream saw no bearer token ("${auth.slice(0, 20)}")`)
}

/** Resident memory of every measured process, read together before any request. */
export async function idleMemory (targetsList) {
  await sleep(IDLE_SETTLE_MS)
  const out = {}
  for (const t of targetsList) {
    if (t.pid === undefined) continue
    const m = memory(t.pid)
    out[t.key] = { idleRssMB: m.rss / 1e6, idleAnonMB: m.rssAnon / 1e6 }
  }
  return out
}

function check (target, r) {
  // A fast error is not a fast proxy: any non-2xx answer invalidates the run.
  if (r.non2xx > 0) throw new Error(`${target.key}: ${r.non2xx} non-2xx answers under load; the run is not valid`)
  if (r.socketErrors > 0) console.log(`  warning: ${target.key}: ${r.socketErrors} socket errors (connect/read/write/timeout)`)
}

async function saturation (target, o, wrk) {
  const pid = target.pid
  const cpu0 = pid !== undefined ? cpuSeconds(pid) : NaN
  let anon = NaN
  const sampler = pid === undefined ? undefined : setInterval(() => { anon = Math.max(memory(pid).rssAnon, Number.isNaN(anon) ? 0 : anon) }, ANON_SAMPLE_MS)
  const r = await runWrk({ url: `${target.url}${API_PATH}`, threads: 2, connections: 50, seconds: o.duration, wrk }).finally(() => clearInterval(sampler))
  const cpu = pid !== undefined ? cpuSeconds(pid) - cpu0 : NaN
  check(target, r)
  return { rps: r.rps, p50c50: r.p50, p99c50: r.p99, requests: r.requests, cpuUsPerReq: cpu * 1e6 / r.requests, peakRssMB: pid !== undefined ? memory(pid).peakRss / 1e6 : NaN, peakAnonMB: anon / 1e6, socketErrors: r.socketErrors }
}

async function oneConnection (target, o, wrk) {
  const r = await runWrk({ url: `${target.url}${API_PATH}`, threads: 1, connections: 1, seconds: o.latencyDuration, wrk })
  check(target, r)
  return { p50c1: r.p50, p99c1: r.p99, rpsC1: r.rps }
}

/** Warm-up, then `o.rounds` rounds over every column; returns each column's rounds and the 1-minute load average after each. */
export async function runRounds (targetsList, o, wrk, log) {
  if (o.warmup > 0) {
    for (const t of targetsList) await runWrk({ url: `${t.url}${API_PATH}`, threads: 2, connections: 50, seconds: o.warmup, wrk })
  }
  const rounds = Object.fromEntries(targetsList.map((t) => [t.key, []]))
  const load = []
  for (let i = 0; i < o.rounds; i++) {
    // Each round starts one column further along, so no column always follows the same neighbour.
    const order = targetsList.map((_, j) => targetsList[(i + j) % targetsList.length])
    const sat = {}
    for (const t of order) sat[t.key] = await saturation(t, o, wrk)
    for (const t of order) rounds[t.key].push({ ...sat[t.key], ...await oneConnection(t, o, wrk) })
    load.push(loadavg()[0])
    log(`round ${i + 1}/${o.rounds}: ${order.map((t) => `${t.label} ${Math.round(sat[t.key].rps)} req/s`).join(', ')}; load average ${load[i].toFixed(2)}`)
  }
  return { rounds, load }
}

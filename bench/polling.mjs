// `npm run bench -- --scenario polling` (or `node bench/polling.mjs` after `npm run build`): a dashboard's load.
// 50 clients each poll the same skills/activity URL once a second, at random phases, for 30 s, against an upstream
// that takes 100 ms; the proxy with coalescing off, on, and on with a 1 s micro-cache. Reports upstream calls per
// 1,000 client polls and the clients' p50/p99 latency for each. Issue 13.
import { createServer } from 'node:http'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'
import { installCleanup, interrupted } from './lib/procs.mjs'
import { machine } from './lib/procstat.mjs'
import { markdown } from './lib/report.mjs'
import { startProxy, startTokenSource } from './lib/targets.mjs'

const HELP = `Usage: npm run bench -- --scenario polling [options]   (or node bench/polling.mjs after npm run build)

  --clients N        pollers (default 50)
  --duration S       seconds each mode runs (default 30)
  --interval-ms MS   each client's polling interval (default 1000)
  --upstream-ms MS   how long the upstream takes to answer (default 100)
  --cache-ttl-ms MS  the micro-cache's TTL in the third mode (default 1000)

Writes bench/results/polling-<time>.json.`

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const PATH = '/inContactAPI/services/v31.0/skills/activity?mediaTypeId=4&fields=skillId,queueCount,agentsAvailable'
const BODY = Buffer.from(JSON.stringify({ lastPollTime: '2026-12-01T00:00:00.000Z', skillActivity: Array.from({ length: 20 }, (_, i) => ({ skillId: 4000 + i, queueCount: i % 7, agentsAvailable: i % 5 })) }))

export function options (args = process.argv.slice(2)) {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      scenario: { type: 'string' },
      clients: { type: 'string' },
      duration: { type: 'string' },
      'interval-ms': { type: 'string' },
      'upstream-ms': { type: 'string' },
      'cache-ttl-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) { console.log(HELP); process.exit(0) }
  const int = (flag, def, min, max) => {
    const raw = values[flag] ?? String(def)
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} = "${raw}": use a whole number from ${min} to ${max}`)
    return n
  }
  return {
    clients: int('clients', 50, 1, 10_000),
    duration: int('duration', 30, 1, 3600),
    intervalMs: int('interval-ms', 1000, 10, 60_000),
    upstreamMs: int('upstream-ms', 100, 0, 60_000),
    cacheTtlMs: int('cache-ttl-ms', 1000, 1, 600_000)
  }
}

/** The API: answers BODY after `ms`, counting the calls it gets. */
async function startSlowUpstream (ms) {
  const state = { calls: 0 }
  const server = createServer((req, res) => {
    req.resume()
    state.calls++
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': BODY.length })
      res.end(BODY)
    }, ms)
  })
  server.keepAliveTimeout = 120_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://127.0.0.1:${server.address().port}`, state, stop: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) } }
}

function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
}

/** Each client polls at its own random phase, then every interval on a fixed schedule, for `duration` seconds. */
async function poll (url, o) {
  const agent = new Agent({ connections: o.clients, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
  const latencies = []
  let failures = 0
  const t0 = performance.now() + 200
  const end = t0 + o.duration * 1000
  const client = async () => {
    const phase = Math.random() * o.intervalMs
    for (let at = t0 + phase; at < end; at += o.intervalMs) {
      const wait = at - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      const start = performance.now()
      try {
        const res = await request(url, { dispatcher: agent })
        const body = Buffer.from(await res.body.arrayBuffer())
        if (res.statusCode !== 200 || !body.equals(BODY)) failures++
        else latencies.push(performance.now() - start)
      } catch {
        failures++
      }
    }
  }
  await Promise.all(Array.from({ length: o.clients }, client))
  await agent.close()
  return { latencies: latencies.sort((a, b) => a - b), failures }
}

/** Upstream calls per 1,000 polls that coalescing alone should give: each call is joined by the polls of its 100 ms. */
function expected (o, mode) {
  const rate = o.clients * 1000 / o.intervalMs
  if (mode === 'off') return 1000
  // A poll finding nothing in flight starts a call; the next call starts with the first poll after it: one call per
  // upstreamMs plus the mean gap between polls (1/rate), i.e. 1 + rate × upstreamMs joiners per call.
  const perCall = 1 + rate * o.upstreamMs / 1000
  if (mode === 'on') return 1000 / perCall
  // With the cache, one call per TTL + upstreamMs + gap, at most one per second per URL.
  const cycleSec = (o.cacheTtlMs + o.upstreamMs) / 1000 + 1 / rate
  return 1000 / (rate * cycleSec)
}

async function runMode (mode, o, upstream, tokens, tmp) {
  const env = { PROXY_COALESCE: mode === 'off' ? 'false' : 'true' }
  if (mode === 'cache') {
    const file = join(tmp, 'proxy.config.json')
    writeFileSync(file, JSON.stringify({ cache: [{ route: 'GET /inContactAPI/services/*/skills/activity', ttlMs: o.cacheTtlMs }] }))
    env.PROXY_CONFIG = file
  }
  const proxy = await startProxy({ issuer: tokens.issuer, apiOrigin: upstream.origin, env, name: `proxy (${mode})` })
  try {
    // One call first, so the token, the API origin and a connection are there before the clock starts.
    const warm = await fetch(`${proxy.url}${PATH}`)
    await warm.arrayBuffer()
    await new Promise((resolve) => setTimeout(resolve, o.cacheTtlMs + 100))
    const before = upstream.state.calls
    const r = await poll(`${proxy.url}${PATH}`, o)
    const calls = upstream.state.calls - before
    const polls = r.latencies.length + r.failures
    return {
      mode,
      polls,
      failures: r.failures,
      upstreamCalls: calls,
      callsPer1000: calls * 1000 / polls,
      expectedPer1000: expected(o, mode),
      p50: percentile(r.latencies, 50),
      p99: percentile(r.latencies, 99)
    }
  } finally {
    await proxy.stop()
  }
}

const LABELS = { off: 'coalescing off', on: 'coalescing on', cache: 'coalescing on + 1 s cache' }

export function pollingTable (rows, o) {
  const base = rows.find((r) => r.mode === 'off')
  return markdown(
    ['mode', 'client polls', 'upstream calls', 'calls per 1,000 polls', 'expected', 'fewer calls than off', 'p50 (ms)', 'p99 (ms)'],
    rows.map((r) => [
      r.mode === 'cache' ? `coalescing on + ${o.cacheTtlMs / 1000} s cache` : LABELS[r.mode],
      r.polls.toLocaleString('en-US'),
      r.upstreamCalls.toLocaleString('en-US'),
      r.callsPer1000.toFixed(1),
      `≈ ${r.expectedPer1000.toFixed(0)}`,
      base === undefined ? '—' : `${(base.callsPer1000 / r.callsPer1000).toFixed(1)}×`,
      r.p50.toFixed(1),
      r.p99.toFixed(1)
    ])
  )
}

/** The three modes against one slow upstream: the rows of pollingTable and the targets. */
export async function runPolling (o, log, servers) {
  const tmp = mkdtempSync(join(tmpdir(), 'cxone-polling-'))
  try {
    const upstream = await startSlowUpstream(o.upstreamMs)
    servers.push(upstream)
    const tokens = await startTokenSource()
    servers.push(tokens)
    log(`polling: ${o.clients} clients × 1 poll per ${o.intervalMs} ms × ${o.duration} s, upstream ${o.upstreamMs} ms; 3 modes, about ${Math.ceil(3 * (o.duration + 3) / 60)} min`)
    const rows = []
    for (const mode of ['off', 'on', 'cache']) {
      const r = await runMode(mode, o, upstream, tokens, tmp)
      rows.push(r)
      log(`  ${LABELS[mode]}: ${r.upstreamCalls} upstream calls for ${r.polls} polls (${r.failures} failed), p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`)
    }
    const [off, on, cached] = rows
    const targets = [
      { target: 'coalescing alone cuts upstream calls ≥ 5×', met: off.callsPer1000 / on.callsPer1000 >= 5, value: `${(off.callsPer1000 / on.callsPer1000).toFixed(1)}×` },
      { target: 'coalescing: p99 no worse than without it', met: on.p99 <= off.p99, value: `${on.p99.toFixed(1)} ms against ${off.p99.toFixed(1)} ms` },
      { target: 'with the cache: ≤ 1 upstream call per second per URL', met: cached.upstreamCalls <= o.duration, value: `${(cached.upstreamCalls / o.duration).toFixed(2)} per second` }
    ]
    return { rows, targets }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

export async function main (args) {
  const o = options(args)
  const log = (line) => { console.log(line) }
  const servers = []
  const cleanup = installCleanup(async () => {
    for (const s of servers.reverse()) await s.stop().catch(() => {})
  })
  try {
    const loadBefore = loadavg()
    const { rows, targets } = await runPolling(o, log, servers)
    const result = { date: new Date().toISOString(), machine: machine(), loadAverage: { before: loadBefore, after: loadavg() }, settings: { ...o, path: PATH, bodyBytes: BODY.length }, rows, targets }
    mkdirSync(RESULTS, { recursive: true })
    const file = join(RESULTS, `polling-${result.date.replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
    log(`\n${pollingTable(rows, o)}\n`)
    for (const t of targets) log(`${t.met ? 'MET   ' : 'MISSED'} ${t.target}: ${t.value}`)
    log(`load average (1 min) ${loadBefore[0].toFixed(2)} before, ${result.loadAverage.after[0].toFixed(2)} after; results: ${file}`)
  } finally {
    await cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    if (interrupted()) return
    console.error(`bench polling: ${err.message}`)
    process.exitCode = 1
  })
}

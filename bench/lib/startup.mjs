// Time to ready (issue 10): from spawning `node dist/main.js start` to /_proxy/readyz answering 200, which needs
// the token (from the local simulator) and the API origin. Baselines for scale: a bare `node -e 0`, and the
// reference proxies from spawn to listening (they have no token to fetch).
import { spawn } from 'node:child_process'
import { get } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { IDLE_SETTLE_MS } from './measure.mjs'
import { cpuSeconds, memory } from './procstat.mjs'
import { markdown, median } from './report.mjs'
import { spawnProxy, startReference } from './targets.mjs'

/** Polling interval: the resolution of the measurement, and light enough not to slow the start it measures. */
const POLL_MS = 5
const GIVE_UP_MS = 30_000

/** The status of one GET on a fresh connection, or 0 while nothing listens. */
async function status (url) {
  return await new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 1_000 }, (res) => { res.resume(); res.once('end', () => { resolve(res.statusCode) }) })
    req.once('timeout', () => { req.destroy() })
    req.once('error', () => { resolve(0) })
  })
}

/**
 * One start of the proxy: ms from spawn until it first answers at all and until readyz is 200, then its
 * anonymous RSS once it has sat idle for IDLE_SETTLE_MS (one reading per start is noisy; the median of several is not).
 */
async function proxyStart (env) {
  const proxy = await spawnProxy({ ...env, name: 'proxy (start-up)' })
  try {
    let listeningMs
    for (;;) {
      if (proxy.entry.exited) throw new Error(`the proxy exited during start-up: ${proxy.entry.stderr}`)
      const code = await status(`${proxy.url}/_proxy/readyz`)
      const ms = performance.now() - proxy.spawnedAt
      if (code !== 0) listeningMs ??= ms
      if (code === 200) {
        const cpuMs = cpuSeconds(proxy.pid) * 1000
        await sleep(IDLE_SETTLE_MS)
        return { listeningMs, readyMs: ms, cpuMs, idleAnonMB: memory(proxy.pid).rssAnon / 1e6 }
      }
      if (ms > GIVE_UP_MS) throw new Error(`the proxy was not ready ${GIVE_UP_MS} ms after start (last status ${code})`)
      await sleep(POLL_MS)
    }
  } finally {
    await proxy.stop()
  }
}

async function bareNode () {
  const t0 = performance.now()
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })
  await new Promise((resolve, reject) => { child.once('exit', resolve); child.once('error', reject) })
  return performance.now() - t0
}

async function referenceStart (kind, apiOrigin) {
  const ref = await startReference(kind, apiOrigin)
  await ref.stop()
  return ref.listeningMs
}

/** The proxy alone: every sample of `starts` sequential starts (bench/ready.mjs). */
export async function proxyStarts (env, starts) {
  const runs = { proxyReady: [], proxyListening: [], proxyCpuMs: [], proxyIdleAnonMB: [] }
  for (let i = 0; i < starts; i++) {
    const p = await proxyStart(env)
    runs.proxyReady.push(p.readyMs)
    runs.proxyCpuMs.push(p.cpuMs)
    runs.proxyListening.push(p.listeningMs)
    runs.proxyIdleAnonMB.push(p.idleAnonMB)
  }
  return runs
}

/** Medians (and every sample) of `starts` sequential starts of each. `env` is what `spawnProxy` takes. */
export async function timeToReady (env, starts) {
  const runs = { proxyReady: [], proxyListening: [], bareNode: [], fastifyListening: [], nodeHttpProxyListening: [], proxyIdleAnonMB: [] }
  for (let i = 0; i < starts; i++) {
    const p = await proxyStart(env)
    runs.proxyReady.push(p.readyMs)
    runs.proxyListening.push(p.listeningMs)
    runs.proxyIdleAnonMB.push(p.idleAnonMB)
    runs.bareNode.push(await bareNode())
    runs.fastifyListening.push(await referenceStart('fastify', env.apiOrigin))
    runs.nodeHttpProxyListening.push(await referenceStart('node-http-proxy', env.apiOrigin))
  }
  const medians = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]))
  return { starts, pollMs: POLL_MS, medians, runs }
}

const STARTUP_ROWS = [
  ['proxyReady', 'proxy: spawn → /_proxy/readyz 200, token held (ms)', 0],
  ['proxyListening', 'proxy: spawn → first HTTP answer, listening (ms)', 0],
  ['fastifyListening', 'bare Fastify + @fastify/http-proxy: spawn → listening (ms)', 0],
  ['nodeHttpProxyListening', 'node-http-proxy: spawn → listening (ms)', 0],
  ['bareNode', '`node -e 0`: spawn → exit (ms)', 0],
  ['proxyIdleAnonMB', `proxy: anonymous RSS ${IDLE_SETTLE_MS / 1000} s after ready (MB)`, 1]
]

/** The start-up table as Markdown. */
export function startupTable (result) {
  return markdown([`start-up, median of ${result.starts} starts`, 'median', 'every start'], STARTUP_ROWS.map(([key, label, digits]) =>
    [label, result.medians[key].toFixed(digits), result.runs[key].map((x) => x.toFixed(digits)).join(', ')]))
}

// `npm run bench`: the proxy against nginx and direct calls, interleaved rounds, medians, ratios. Issue 6.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setInterval, clearInterval } from 'node:timers'
import { parseArgs } from 'node:util'
import { API_PATH } from './upstream.mjs'
import { cpuSeconds, machine, memory } from './lib/procstat.mjs'
import { installCleanup, interrupted } from './lib/procs.mjs'
import { METRICS, ratios, summarise, table, targets } from './lib/report.mjs'
import { startNginx, startProxy, startTokenSource, startUpstream } from './lib/targets.mjs'
import { ensureTools, version } from './lib/tools.mjs'
import { runWrk } from './lib/wrk.mjs'

const HELP = `Usage: npm run bench [-- options]   (or node bench/run.mjs after npm run build)

  --rounds N            interleaved rounds (BENCH_ROUNDS, default 3)
  --duration S          seconds per saturation run, wrk -t2 -c50 (BENCH_DURATION, default 8)
  --latency-duration S  seconds per one-connection run, wrk -t1 -c1 (BENCH_LATENCY_DURATION, default 5)
  --warmup S            seconds of unrecorded load per configuration first (BENCH_WARMUP, default 3)
  --proxy-log FILE      where the proxy's info log goes (BENCH_PROXY_LOG, default /dev/null)
  --no-nginx            skip the nginx column
  -h, --help            this help

Installs wrk and nginx with apt-get when missing and run as root (BENCH_NO_INSTALL=1 to never install).
Writes bench/results/bench-<time>.json.`

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

function options () {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      'latency-duration': { type: 'string' },
      warmup: { type: 'string' },
      'proxy-log': { type: 'string' },
      'no-nginx': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) { console.log(HELP); process.exit(0) }
  const int = (flag, env, def, min, max) => {
    const raw = values[flag] ?? process.env[env] ?? String(def)
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} / ${env} = "${raw}": use a whole number from ${min} to ${max}`)
    return n
  }
  return {
    rounds: int('rounds', 'BENCH_ROUNDS', 3, 1, 50),
    duration: int('duration', 'BENCH_DURATION', 8, 1, 600),
    latencyDuration: int('latency-duration', 'BENCH_LATENCY_DURATION', 5, 1, 600),
    warmup: int('warmup', 'BENCH_WARMUP', 3, 0, 600),
    proxyLog: values['proxy-log'] ?? process.env.BENCH_PROXY_LOG ?? '/dev/null',
    nginx: values['no-nginx'] !== true
  }
}

/** The answer through `target` must be the upstream's, and proxies must have added the bearer. */
async function verify (target, upstream, expected) {
  const res = await fetch(`${target.url}${API_PATH}`)
  const body = Buffer.from(await res.arrayBuffer())
  if (res.status !== 200 || !body.equals(expected)) throw new Error(`${target.key}: ${API_PATH} answered ${res.status} with ${body.length} bytes, not the upstream's ${expected.length}`)
  if (target.key === 'direct') return
  const auth = await (await fetch(`${upstream.origin}/bench/last-auth`)).text()
  if (!auth.startsWith('Bearer ')) throw new Error(`${target.key}: the upstream saw no bearer token ("${auth.slice(0, 20)}")`)
}

async function saturation (target, o, wrk) {
  const pid = target.pid
  const cpu0 = pid !== undefined ? cpuSeconds(pid) : NaN
  let anon = NaN
  // VmHWM has no anonymous-only twin: sample RssAnon while the load runs.
  const sampler = pid === undefined ? undefined : setInterval(() => { anon = Math.max(memory(pid).rssAnon, Number.isNaN(anon) ? 0 : anon) }, 200)
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

function check (target, r) {
  // A fast error is not a fast proxy: any non-2xx answer invalidates the run.
  if (r.non2xx > 0) throw new Error(`${target.key}: ${r.non2xx} non-2xx answers under load; the run is not valid`)
  if (r.socketErrors > 0) console.log(`  warning: ${target.key}: ${r.socketErrors} socket errors (connect/read/write/timeout)`)
}

async function main () {
  const o = options()
  const log = (line) => { console.log(line) }
  const tools = ensureTools(log)
  if (tools.wrk === undefined) throw new Error('wrk is not installed and could not be installed: apt-get install -y wrk, then run again')
  const tmp = mkdtempSync(join(tmpdir(), 'cxone-bench-'))
  const servers = []
  const cleanup = installCleanup(async () => {
    for (const s of servers.reverse()) await s.stop().catch(() => {})
    rmSync(tmp, { recursive: true, force: true })
  })
  try {
    const upstream = await startUpstream()
    servers.push(upstream)
    const tokens = await startTokenSource()
    servers.push(tokens)
    const proxy = await startProxy({ issuer: tokens.issuer, apiOrigin: upstream.origin, logPath: o.proxyLog })
    servers.push(proxy)
    const targetsList = [{ key: 'proxy', label: 'proxy', url: proxy.url, pid: proxy.pid }]
    let nginxVersion
    if (!o.nginx) {
      log('nginx column skipped: --no-nginx')
    } else if (tools.nginx === undefined) {
      log('nginx column SKIPPED: nginx is not installed and could not be installed (see above); proxy/nginx ratios are not measured')
    } else {
      const nginx = await startNginx({ nginx: tools.nginx, tmp, upstreamOrigin: upstream.origin })
      servers.push(nginx)
      nginxVersion = version(tools.nginx, ['-v'])
      targetsList.push({ key: 'nginx', label: 'nginx', url: nginx.url, pid: nginx.pid })
    }
    targetsList.push({ key: 'direct', label: 'direct', url: upstream.origin, pid: undefined })

    const expected = Buffer.from(await (await fetch(`${upstream.origin}${API_PATH}`)).arrayBuffer())
    for (const t of targetsList) await verify(t, upstream, expected)
    log(`upstream answers ${expected.length} bytes of JSON; every column verified (same body, bearer added)`)
    const total = targetsList.length * (o.warmup + o.rounds * (o.duration + o.latencyDuration))
    log(`${o.rounds} rounds × ${targetsList.map((t) => t.key).join(', ')}; ${total} s of load, about ${(total / 60).toFixed(1)} min`)

    if (o.warmup > 0) {
      for (const t of targetsList) await runWrk({ url: `${t.url}${API_PATH}`, threads: 2, connections: 50, seconds: o.warmup, wrk: tools.wrk })
    }
    const rounds = Object.fromEntries(targetsList.map((t) => [t.key, []]))
    for (let i = 0; i < o.rounds; i++) {
      const sat = {}
      for (const t of targetsList) sat[t.key] = await saturation(t, o, tools.wrk)
      for (const t of targetsList) rounds[t.key].push({ ...sat[t.key], ...await oneConnection(t, o, tools.wrk) })
      log(`round ${i + 1}/${o.rounds}: ${targetsList.map((t) => `${t.key} ${Math.round(sat[t.key].rps)} req/s`).join(', ')}`)
    }

    const metricsText = await (await fetch(`${proxy.url}/_proxy/metrics`)).text()
    const counted = [...metricsText.matchAll(/^cxone_proxy_requests_total\{[^}]*route_class="api:skills"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0)

    const summary = {}
    for (const t of targetsList) summary[t.key] = summarise(rounds[t.key])
    summary.ratios = {
      proxyOverNginx: summary.nginx !== undefined ? ratios(summary.proxy, summary.nginx) : ratios(summary.proxy, {}),
      proxyOverDirect: ratios(summary.proxy, summary.direct)
    }
    const result = {
      date: new Date().toISOString(),
      machine: { ...machine(), nginx: nginxVersion ?? null, wrk: version(tools.wrk, ['-v']) },
      settings: { ...o, upstreamBytes: expected.length, path: API_PATH, proxy: 'node dist/main.js start; proxy.config.json; LOG_LEVEL=info; token from the CXone simulator; metrics on' },
      metrics: METRICS.map((m) => ({ key: m.key, label: m.label })),
      rounds,
      summary,
      targets: targets(summary),
      proxyRequestsCounted: counted
    }
    mkdirSync(RESULTS, { recursive: true })
    const file = join(RESULTS, `bench-${result.date.replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)

    const m = result.machine
    log(`\nMedian of ${o.rounds} interleaved rounds; ${m.cores} × ${m.cpu}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.nginx ?? 'no nginx'}, ${m.wrk}`)
    log('CPU and RSS are the proxy process (all threads) and the nginx worker; direct has no middle process. Peak RSS is VmHWM;')
    log('the anonymous part leaves out the mapped node binary and libraries (file-backed, shared between processes).\n')
    log(table(summary, targetsList))
    log('')
    for (const t of result.targets) log(`${t.met === true ? 'MET   ' : t.met === false ? 'MISSED' : 'n/a   '} ${t.target}: ${t.value}`)
    log(`\nthe proxy's /_proxy/metrics counted ${counted} api:skills requests (metrics on)`)
    log(`results: ${file}`)
  } finally {
    await cleanup()
  }
}

main().catch((err) => {
  if (interrupted()) return
  console.error(`bench: ${err.message}`)
  process.exitCode = 1
})

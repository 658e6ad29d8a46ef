// `npm run bench`: the proxy against two Node baselines (bare Fastify + @fastify/http-proxy, node-http-proxy),
// nginx and direct calls; interleaved rounds, medians, ratios, memory at idle and under load, time to ready.
// Issues 6 and 10.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { API_PATH } from './upstream.mjs'
import { options as pollingOptions, pollingTable, runPolling } from './polling.mjs'
import { IDLE_SETTLE_MS, idleMemory, runRounds, verify } from './lib/measure.mjs'
import { machine } from './lib/procstat.mjs'
import { installCleanup, interrupted } from './lib/procs.mjs'
import { METRICS, RATIOS, allRatios, paired, pairedRps, summarise, table, targets } from './lib/report.mjs'
import { startupTable, timeToReady } from './lib/startup.mjs'
import { startNginx, startProxy, startReference, startTokenSource, startUpstream } from './lib/targets.mjs'
import { ensureTools, version } from './lib/tools.mjs'

const HELP = `Usage: npm run bench [-- options]   (or node bench/run.mjs after npm run build)

  --rounds N            interleaved rounds (BENCH_ROUNDS, default 3)
  --duration S          seconds per saturation run, wrk -t2 -c50 (BENCH_DURATION, default 8)
  --latency-duration S  seconds per one-connection run, wrk -t1 -c1 (BENCH_LATENCY_DURATION, default 5)
  --warmup S            seconds of unrecorded load per configuration first (BENCH_WARMUP, default 3)
  --starts N            proxy starts timed to ready, 0 to skip (BENCH_STARTS, default 7)
  --polling S           seconds per mode of the coalescing scenario after the rounds, 0 to skip (BENCH_POLLING, default 10)
  --proxy-log FILE      where the proxy's info log goes (BENCH_PROXY_LOG, default /dev/null)
  --no-nginx            skip the nginx column
  --scenario polling    instead: 50 clients polling one URL through the proxy with coalescing off, on, and on with a
                        1 s micro-cache (bench/polling.mjs; --help after it for its options)
  -h, --help            this help

Installs wrk and nginx with apt-get when missing and run as root (BENCH_NO_INSTALL=1 to never install).
Writes bench/results/bench-<time>.json.`

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const ROOT = fileURLToPath(new URL('../', import.meta.url))
/** The Node baselines, each its own process (bench/reference-proxy.mjs). */
const BASELINES = [
  { key: 'fastify', kind: 'fastify', label: 'bare Fastify' },
  { key: 'nodeHttpProxy', kind: 'node-http-proxy', label: 'node-http-proxy' }
]

function options () {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      'latency-duration': { type: 'string' },
      warmup: { type: 'string' },
      starts: { type: 'string' },
      polling: { type: 'string' },
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
    starts: int('starts', 'BENCH_STARTS', 7, 0, 50),
    polling: int('polling', 'BENCH_POLLING', 10, 0, 600),
    proxyLog: values['proxy-log'] ?? process.env.BENCH_PROXY_LOG ?? '/dev/null',
    nginx: values['no-nginx'] !== true
  }
}

/** Which code was measured: the commit, and how many files under src/ differ from it (dist/ is built from them). */
function source () {
  const git = (args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    return { commit: git(['rev-parse', 'HEAD']), srcFilesChanged: git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length }
  } catch {
    return { commit: null, srcFilesChanged: null }
  }
}

/** The columns, each started and tracked in `servers`: the proxy, the Node baselines, nginx, direct. */
async function startColumns ({ o, tools, tmp, upstream, proxyEnv, servers, log }) {
  const proxy = await startProxy(proxyEnv)
  servers.push(proxy)
  const columns = [{ key: 'proxy', label: 'proxy', url: proxy.url, pid: proxy.pid }]
  for (const b of BASELINES) {
    const ref = await startReference(b.kind, upstream.origin)
    servers.push(ref)
    columns.push({ key: b.key, label: b.label, url: ref.url, pid: ref.pid })
  }
  let nginxVersion = null
  if (!o.nginx) {
    log('nginx column skipped: --no-nginx')
  } else if (tools.nginx === undefined) {
    log('nginx column SKIPPED: nginx is not installed and could not be installed (see above); proxy/nginx ratios are not measured')
  } else {
    const nginx = await startNginx({ nginx: tools.nginx, tmp, upstreamOrigin: upstream.origin })
    servers.push(nginx)
    nginxVersion = version(tools.nginx, ['-v'])
    columns.push({ key: 'nginx', label: 'nginx', url: nginx.url, pid: nginx.pid })
  }
  columns.push({ key: 'direct', label: 'direct', url: upstream.origin, pid: undefined })
  return { columns, proxy, nginxVersion }
}

/** api:skills requests the proxy's own /_proxy/metrics counted (metrics on, as in production). */
async function countedByProxy (proxy) {
  const text = await (await fetch(`${proxy.url}/_proxy/metrics`)).text()
  return [...text.matchAll(/^cxone_proxy_requests_total\{[^}]*route_class="api:skills"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0)
}

function print (result, columns, file, log) {
  const { machine: m, settings: o, loadAverage: l, source: src } = result
  const la = (x) => x.map((v) => v.toFixed(2)).join(', ')
  log(`\nMedian of ${o.rounds} interleaved rounds; ${m.cores} × ${m.cpu}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.nginx ?? 'no nginx'}, ${m.wrk}`)
  log(`source ${src.commit?.slice(0, 7) ?? 'unknown'}${src.srcFilesChanged ? ` with ${src.srcFilesChanged} files under src/ changed` : ''}; load average (1, 5, 15 min) ${la(l.before)} before, ${la(l.after)} after; 1-min after each round ${la(l.rounds)}`)
  log('CPU and RSS are each middle process (all its threads; for nginx its one worker); direct has none. Peak total RSS is VmHWM;')
  log(`anonymous RSS (RssAnon) leaves out the mapped node binary and libraries; under load it is sampled every 200 ms; at idle`)
  log(`it is read once, ${IDLE_SETTLE_MS / 1000} s after every server has started and before any request.\n`)
  log(table(result.summary, columns))
  const paired = Object.entries(result.pairedRps).map(([k, v]) => `${RATIOS.find((r) => r.key === k).label} ${v.map((x) => `${x.toFixed(2)}×`).join(', ')}`)
  log(`\nreq/s ratios round by round (the table's are ratios of medians): ${paired.join('; ')}`)
  const cpu = Object.entries(result.summary.pairedCpu).map(([k, v]) => `${RATIOS.find((r) => r.key === k).label} ${v.map((x) => `${x.toFixed(2)}×`).join(', ')}`)
  log(`CPU µs per request ratios round by round: ${cpu.join('; ')}\n`)
  if (result.startup !== null) { log(startupTable(result.startup)); log('') }
  if (result.polling !== null) { log(`coalescing scenario, ${result.polling.settings.clients} pollers of one URL, ${result.polling.settings.duration} s per mode:`); log(pollingTable(result.polling.rows, result.polling.settings)); log('') }
  for (const t of result.targets) log(`${t.met === true ? 'MET   ' : t.met === false ? 'MISSED' : 'n/a   '} ${t.target}: ${t.value}`)
  log(`\nthe proxy's /_proxy/metrics counted ${result.proxyRequestsCounted} api:skills requests (metrics on)`)
  log(`results: ${file}`)
}

async function main () {
  const scenario = process.argv.indexOf('--scenario')
  if (scenario >= 0) {
    const name = process.argv[scenario + 1]
    if (name !== 'polling') throw new Error(`--scenario ${name ?? ''}: the one scenario is "polling"`)
    const { main: polling } = await import('./polling.mjs')
    await polling(process.argv.slice(2))
    return
  }
  const o = options()
  const log = (line) => { console.log(line) }
  const tools = ensureTools(log)
  if (tools.wrk === undefined) throw new Error('wrk is not installed and could not be installed: apt-get install -y wrk, then run again')
  const loadBefore = loadavg()
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
    const proxyEnv = { issuer: tokens.issuer, apiOrigin: upstream.origin, logPath: o.proxyLog }
    let startup = null
    if (o.starts > 0) {
      log(`timing ${o.starts} starts of the proxy to ready, and of the baselines…`)
      startup = await timeToReady(proxyEnv, o.starts)
    }
    const { columns, proxy, nginxVersion } = await startColumns({ o, tools, tmp, upstream, proxyEnv, servers, log })

    const idle = await idleMemory(columns)
    const expected = Buffer.from(await (await fetch(`${upstream.origin}${API_PATH}`)).arrayBuffer())
    for (const t of columns) await verify(t, upstream, expected)
    log(`upstream answers ${expected.length} bytes of JSON; every column verified (same body, bearer added)`)
    const total = columns.length * (o.warmup + o.rounds * (o.duration + o.latencyDuration))
    log(`${o.rounds} rounds × ${columns.map((t) => t.label).join(', ')}; ${total} s of load, about ${(total / 60).toFixed(1)} min`)
    const { rounds, load } = await runRounds(columns, o, tools.wrk, log)

    let polling = null
    if (o.polling > 0) {
      const po = pollingOptions(['--duration', String(o.polling)])
      polling = { settings: po, ...await runPolling(po, log, servers) }
    }
    const summary = {}
    for (const t of columns) summary[t.key] = summarise(rounds[t.key], idle[t.key])
    summary.ratios = allRatios(summary)
    summary.pairedCpu = paired(rounds, 'cpuUsPerReq')
    const result = {
      date: new Date().toISOString(),
      machine: { ...machine(), nginx: nginxVersion, wrk: version(tools.wrk, ['-v']) },
      loadAverage: { before: loadBefore, rounds: load, after: loadavg() },
      source: source(),
      settings: {
        ...o,
        upstreamBytes: expected.length,
        path: API_PATH,
        proxy: 'node dist/main.js start; proxy.config.json; LOG_LEVEL=info; token from the CXone simulator; metrics on',
        baselines: 'bench/reference-proxy.mjs fastify and node-http-proxy; no logging; Authorization set per request',
        idleSettleMs: IDLE_SETTLE_MS
      },
      metrics: METRICS.map((m) => ({ key: m.key, label: m.label })),
      ratioColumns: RATIOS,
      rounds,
      summary,
      pairedRps: pairedRps(rounds),
      startup,
      polling,
      targets: [...targets(summary, startup ?? undefined), ...(polling?.targets ?? [])],
      proxyRequestsCounted: await countedByProxy(proxy)
    }
    mkdirSync(RESULTS, { recursive: true })
    const file = join(RESULTS, `bench-${result.date.replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
    print(result, columns, file, log)
  } finally {
    await cleanup()
  }
}

main().catch((err) => {
  if (interrupted()) return
  console.error(`bench: ${err.message}`)
  process.exitCode = 1
})

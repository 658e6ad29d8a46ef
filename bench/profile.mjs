// Where the proxy's time goes (issue 6): a CPU profile under saturation, summarised by function and module,
// then the cost of info logging and of the JSON/link-rewriting path, as interleaved A/B runs.
// Usage: npm run build && node bench/profile.mjs [--seconds S] [--rounds N] [--top N] [--root BUILD] [--no-profile] [--no-experiments]
// (--root profiles another build, laid out as bench/compare.mjs describes)
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { API_PATH, LINKS_PATH, PLAIN_PATH } from './upstream.mjs'
import { formatSummary, summarise } from './cpuprofile-summary.mjs'
import { load, formatVariants, runVariants } from './lib/ab.mjs'
import { installCleanup, interrupted } from './lib/procs.mjs'
import { startProxy, startReference, startTokenSource, startUpstream } from './lib/targets.mjs'
import { ensureTools } from './lib/tools.mjs'

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

async function profileRun (env, o, wrk, stamp) {
  const dir = join(RESULTS, `profile-${stamp}`)
  mkdirSync(dir, { recursive: true })
  const proxy = await startProxy({ ...env, name: 'proxy --cpu-prof', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] })
  const r = await load(`${proxy.url}${API_PATH}`, o.seconds, wrk, proxy.pid)
  await proxy.stop()
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`the proxy wrote no .cpuprofile into ${dir}`)
  const summary = summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')))
  console.log(`\n== CPU profile: ${Math.round(r.rps)} req/s under --cpu-prof, ${join(dir, file)}\n`)
  console.log(formatSummary(summary, o.top))
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify({ load: r, ...summary, selfByFunction: summary.selfByFunction.slice(0, 100), inclusiveByFunction: summary.inclusiveByFunction.slice(0, 100) }, null, 2)}\n`)
  return { load: r, file: join(dir, file), top: summary.selfByModule.slice(0, 15) }
}

async function experiments (env, upstream, o, wrk) {
  const info = await startProxy({ ...env, logLevel: 'info', name: 'proxy info' })
  const silent = await startProxy({ ...env, logLevel: 'silent', name: 'proxy silent' })
  const bareFastify = await startReference('fastify', upstream.origin)
  const fastifyUndici = await startReference('fastify-undici', upstream.origin)
  const bareUndici = await startReference('undici', upstream.origin)
  try {
    const variants = [
      { key: 'production: info log, JSON without API URLs', proxy: info, path: API_PATH },
      { key: 'LOG_LEVEL=silent, same JSON', proxy: silent, path: API_PATH },
      { key: 'info, same bytes as application/octet-stream (no JSON path)', proxy: info, path: PLAIN_PATH },
      { key: 'info, JSON with 3 API URLs (rewritten)', proxy: info, path: LINKS_PATH },
      { key: 'reference: bare Fastify + @fastify/http-proxy, defaults, no log', proxy: bareFastify, path: API_PATH },
      { key: 'reference: Fastify route + undici Pool by hand, no log', proxy: fastifyUndici, path: API_PATH },
      { key: 'reference: node:http + undici Pool by hand, no log', proxy: bareUndici, path: API_PATH }
    ]
    const results = await runVariants(variants.map((v) => ({ key: v.key, url: `${v.proxy.url}${v.path}`, pid: v.proxy.pid })), { rounds: o.rounds, seconds: o.seconds, wrk })
    console.log(`\n== A/B: median of ${o.rounds} interleaved ${o.seconds}s runs at -t2 -c50 (upstream JSON ${upstream.bytes} bytes); deltas against the first line\n`)
    console.log(formatVariants(results))
    return results
  } finally {
    for (const p of [info, silent, bareFastify, fastifyUndici, bareUndici]) await p.stop()
  }
}

async function main () {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' }, top: { type: 'string' }, root: { type: 'string' }, 'no-profile': { type: 'boolean' }, 'no-experiments': { type: 'boolean' } } })
  const o = { seconds: Number(values.seconds ?? 8), rounds: Number(values.rounds ?? 5), top: Number(values.top ?? 25) }
  if (![o.seconds, o.rounds, o.top].every((n) => Number.isInteger(n) && n > 0 && n <= 600)) throw new Error('--seconds, --rounds and --top take whole numbers from 1 to 600')
  const tools = ensureTools((line) => { console.log(line) })
  if (tools.wrk === undefined) throw new Error('wrk is not installed: apt-get install -y wrk')
  const servers = []
  const cleanup = installCleanup(async () => { for (const s of servers.reverse()) await s.stop().catch(() => {}) })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  try {
    const upstream = await startUpstream()
    servers.push(upstream)
    const tokens = await startTokenSource()
    servers.push(tokens)
    const env = { issuer: tokens.issuer, apiOrigin: upstream.origin, ...(values.root !== undefined ? { root: resolve(values.root) } : {}) }
    const result = { date: new Date().toISOString() }
    if (values['no-profile'] !== true) result.profile = await profileRun(env, o, tools.wrk, stamp)
    if (values['no-experiments'] !== true) result.experiments = await experiments(env, upstream, o, tools.wrk)
    mkdirSync(RESULTS, { recursive: true })
    const file = join(RESULTS, `profile-${stamp}.json`)
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
    console.log(`\nresults: ${file}`)
  } finally {
    await cleanup()
  }
}

main().catch((err) => {
  if (interrupted()) return
  console.error(`profile: ${err.message}`)
  process.exitCode = 1
})

// A/B of proxy builds under the same load, interleaved: is a src/ change really faster?
// Usage: node bench/compare.mjs [--rounds N] [--seconds S] [--connections C (50; 1 is steadier for CPU/req)] ROOT_A ROOT_B [ROOT_C …]
// Each ROOT holds dist/ (built), package.json and proxy.config.json, with node_modules reachable from it. To
// try an uncommitted change against the committed code:
//   git stash && npm run build && mkdir -p /tmp/base && cp -r dist package.json proxy.config.json /tmp/base/ \
//     && ln -sfn "$PWD/node_modules" /tmp/base/node_modules && git stash pop && npm run build
//   node bench/compare.mjs /tmp/base .
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { API_PATH } from './upstream.mjs'
import { formatVariants, runVariants } from './lib/ab.mjs'
import { installCleanup, interrupted } from './lib/procs.mjs'
import { startProxy, startTokenSource, startUpstream } from './lib/targets.mjs'
import { ensureTools } from './lib/tools.mjs'

async function main () {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string' }, seconds: { type: 'string' }, connections: { type: 'string' }, 'log-level': { type: 'string' } } })
  const rounds = Number(values.rounds ?? 5)
  const seconds = Number(values.seconds ?? 8)
  const connections = Number(values.connections ?? 50)
  if (positionals.length < 2 || !Number.isInteger(rounds) || !Number.isInteger(seconds) || rounds < 1 || seconds < 1 || !(connections >= 1 && connections <= 1000)) {
    console.error('usage: node bench/compare.mjs [--rounds N] [--seconds S] [--connections C] [--log-level info] ROOT_A ROOT_B [ROOT_C …]')
    process.exit(2)
  }
  const tools = ensureTools((line) => { console.log(line) })
  if (tools.wrk === undefined) throw new Error('wrk is not installed: apt-get install -y wrk')
  const servers = []
  const cleanup = installCleanup(async () => { for (const s of servers.reverse()) await s.stop().catch(() => {}) })
  try {
    const upstream = await startUpstream()
    servers.push(upstream)
    const tokens = await startTokenSource()
    servers.push(tokens)
    const variants = []
    for (const root of positionals) {
      const proxy = await startProxy({ issuer: tokens.issuer, apiOrigin: upstream.origin, logLevel: values['log-level'] ?? 'info', root: resolve(root), name: `proxy ${root}` })
      servers.push(proxy)
      variants.push({ key: root, url: `${proxy.url}${API_PATH}`, pid: proxy.pid })
    }
    const results = await runVariants(variants, { rounds, seconds, wrk: tools.wrk, connections })
    console.log(`\nmedian of ${rounds} interleaved ${seconds}s runs at -c${connections}; deltas against ${positionals[0]}\n`)
    console.log(formatVariants(results))
  } finally {
    await cleanup()
  }
}

main().catch((err) => {
  if (interrupted()) return
  console.error(`compare: ${err.message}`)
  process.exitCode = 1
})

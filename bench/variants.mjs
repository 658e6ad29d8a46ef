// Ad-hoc interleaved A/B of the proxy under different settings and V8 flags, against bare Fastify.
// Usage: node bench/variants.mjs [--pin] [--rounds N] [--seconds S] [--connections C] [--root BUILD] 'name|ENV=v,ENV2=v|--node-flag ...|BUILD' ...
//   the first variant is always bare Fastify + @fastify/http-proxy; "prod" is the proxy as the bin runs it;
//   'ref:fastify|MALLOC_ARENA_MAX=2|--max-semi-space-size=4' is a baseline of bench/reference-proxy.mjs with those settings.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { API_PATH } from './upstream.mjs'
import { formatVariants, runVariants } from './lib/ab.mjs'
import { installCleanup, interrupted } from './lib/procs.mjs'
import { startProxy, startReference, startTokenSource, startUpstream } from './lib/targets.mjs'
import { firstLine, start, stop } from './lib/procs.mjs'
import { ensureTools } from './lib/tools.mjs'

async function main () {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string' }, seconds: { type: 'string' }, connections: { type: 'string' }, root: { type: 'string' }, pin: { type: 'boolean' } } })
  const tools = ensureTools(() => {})
  const servers = []
  const cleanup = installCleanup(async () => { for (const s of servers.reverse()) await s.stop().catch(() => {}) })
  try {
    const upstream = await startUpstream(); servers.push(upstream)
    const tokens = await startTokenSource(); servers.push(tokens)
    const bare = await startReference('fastify', upstream.origin); servers.push(bare)
    const variants = [{ key: 'bare Fastify + @fastify/http-proxy', url: `${bare.url}${API_PATH}`, pid: bare.pid }]
    for (const spec of positionals) {
      const [name, envs = '', flags = '', root = values.root] = spec.split('|')
      if (name.startsWith('ref:')) {
        // 'ref:KIND|ENV=v|--flags': one of bench/reference-proxy.mjs's baselines with these V8 flags and environment.
        const env = { ...process.env, ...Object.fromEntries(envs.split(',').filter(Boolean).map((kv) => kv.split('='))) }
        const entry = start(name, process.execPath, [...flags.split(' ').filter(Boolean), fileURLToPath(new URL('./reference-proxy.mjs', import.meta.url)), name.slice(4), upstream.origin], { env })
        const { port } = JSON.parse(await firstLine(entry))
        servers.push({ stop: async () => await stop(entry) })
        variants.push({ key: `${name} ${flags}`, url: `http://127.0.0.1:${port}${API_PATH}`, pid: entry.child.pid })
        continue
      }
      const env = Object.fromEntries(envs.split(',').filter(Boolean).map((kv) => kv.split('=')))
      const p = await startProxy({ issuer: tokens.issuer, apiOrigin: upstream.origin, env, nodeArgs: flags.split(' ').filter(Boolean), name, ...(root ? { root } : {}) })
      servers.push(p)
      variants.push({ key: name, url: `${p.url}${API_PATH}`, pid: p.pid })
    }
    // --pin: each server under test on CPU 0 (all its threads), the upstream and wrk on CPU 1: steadier CPU/req.
    let wrk = tools.wrk
    if (values.pin) {
      wrk = join(mkdtempSync(join(tmpdir(), 'variants-')), 'wrk-on-cpu1')
      writeFileSync(wrk, `#!/bin/sh\nexec taskset -c 1 ${tools.wrk} "$@"\n`)
      chmodSync(wrk, 0o755)
      for (const v of variants) execFileSync('taskset', ['-a', '-p', '-c', '0', String(v.pid)], { stdio: 'ignore' })
      execFileSync('taskset', ['-a', '-p', '-c', '1', String(upstream.pid)], { stdio: 'ignore' })
    }
    const results = await runVariants(variants, { rounds: Number(values.rounds ?? 5), seconds: Number(values.seconds ?? 6), wrk, connections: Number(values.connections ?? 50) })
    console.log(formatVariants(results))
    for (const r of results) console.log(`  per round CPU vs bare: ${r.runs.map((x, i) => (x.cpuUsPerReq / results[0].runs[i].cpuUsPerReq).toFixed(2)).join(' ')}  ${r.variant}`)
  } finally { await cleanup() }
}
main().catch((err) => { if (!interrupted()) { console.error(err); process.exitCode = 1 } })

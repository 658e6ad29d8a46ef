// The things under test: the upstream, the token simulator, the proxy (a child process) and nginx.
import { chmodSync, closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { CxoneSimulator, DEMO_CREDENTIALS } from './simulator.mjs'
import { childPids } from './procstat.mjs'
import { firstLine, freePort, start, stop, waitUntil } from './procs.mjs'

import { BENCH_TOKEN } from './bench-token.mjs'
import { MALLOC_ENV, NODE_FLAGS } from '../../scripts/node-flags.mjs'

export { BENCH_TOKEN }
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

async function ok (url, expect = 200) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
  await res.arrayBuffer()
  return res.status === expect
}

/** The upstream child (bench/upstream.mjs). */
export async function startUpstream () {
  const entry = start('upstream', process.execPath, [join(ROOT, 'bench/upstream.mjs')])
  const info = JSON.parse(await firstLine(entry))
  return { entry, pid: entry.child.pid, origin: `http://127.0.0.1:${info.port}`, bytes: info.bytes, stop: async () => await stop(entry) }
}

/** The built-in CXone simulator, in this process: only its discovery and token endpoint are used. */
export async function startTokenSource () {
  const sim = await new CxoneSimulator({ lifetimeSec: 3600 }).start()
  return { issuer: sim.issuer, stop: async () => await sim.stop() }
}

/**
 * The proxy as production runs it: `node dist/main.js start` in the repository (so proxy.config.json is read),
 * with the bin's V8 flags and MALLOC_ARENA_MAX (scripts/node-flags.mjs; `nodeArgs` come after, and win),
 * token injection against the simulator, metrics on, its log at `logLevel` to `logPath` (/dev/null by default).
 * `root` is another build to run instead (a directory with dist/, package.json and a reachable node_modules).
 * Returns at once, before it listens: `startProxy` waits for readiness, bench/lib/startup.mjs times it.
 */
export async function spawnProxy ({ issuer, apiOrigin, logLevel = 'info', logPath = '/dev/null', nodeArgs = [], name = 'proxy', root = ROOT, env: extraEnv = {} }) {
  const port = await freePort()
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/^(CXONE_|PROXY_|LOG_LEVEL$|NODE_OPTIONS$|https?_proxy$|HTTPS?_PROXY$|NO_PROXY$|no_proxy$)/.test(k)))
  Object.assign(env, {
    NODE_ENV: 'production',
    CXONE_ISSUER: issuer,
    CXONE_API_URL: apiOrigin,
    CXONE_CLIENT_ID: DEMO_CREDENTIALS.clientId,
    CXONE_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
    CXONE_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId,
    CXONE_ACCESS_KEY_SECRET: DEMO_CREDENTIALS.accessKeySecret,
    PROXY_HOST: '127.0.0.1',
    PROXY_PORT: String(port),
    LOG_LEVEL: logLevel,
    // The baselines forward every request: so does the proxy here, or wrk's 50 identical GETs would measure
    // coalescing, not forwarding (bench/polling.mjs measures coalescing and the micro-cache).
    PROXY_COALESCE: 'false',
    ...MALLOC_ENV,
    ...extraEnv
  })
  const fd = openSync(logPath, 'a')
  const spawnedAt = performance.now()
  const entry = start(name, process.execPath, [...NODE_FLAGS, ...nodeArgs, join(root, 'dist/main.js'), 'start'], { cwd: root, env, stdio: ['ignore', fd, 'pipe'] })
  closeSync(fd)
  const url = `http://127.0.0.1:${port}`
  return { entry, pid: entry.child.pid, url, spawnedAt, stop: async () => await stop(entry) }
}

/** `spawnProxy`, then waits until /_proxy/readyz answers 200 (listening, token held). */
export async function startProxy (options) {
  const proxy = await spawnProxy(options)
  const name = options.name ?? 'proxy'
  await waitUntil(`${name} on ${proxy.url}`, async () => {
    if (proxy.entry.exited) throw new Error(`${name} exited: ${proxy.entry.stderr}`)
    return await ok(`${proxy.url}/_proxy/readyz`)
  })
  return proxy
}

export function nginxConfig ({ dir, port, upstreamPort, logPath }) {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${logPath};
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # Node has no per-connection request cap; nginx's default 1000 would reconnect mid-run.
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  upstream api {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer ${BENCH_TOKEN}";
    }
  }
}
`
}

/** nginx with one worker, its own prefix and config in `tmp`, on loopback; `pid` is the worker's. */
export async function startNginx ({ nginx, tmp, upstreamOrigin, logPath = '/dev/null' }) {
  const dir = join(tmp, 'nginx')
  mkdirSync(dir, { recursive: true })
  // The worker runs as nobody when started by root; it must reach its temp directories.
  chmodSync(tmp, 0o755)
  chmodSync(dir, 0o755)
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig({ dir, port, upstreamPort: new URL(upstreamOrigin).port, logPath }))
  const entry = start('nginx', nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')])
  const url = `http://127.0.0.1:${port}`
  let worker
  await waitUntil(`nginx on ${url}`, async () => {
    if (entry.exited) throw new Error(`nginx exited: ${entry.stderr}`)
    worker = childPids(entry.child.pid)[0]
    return worker !== undefined && await ok(`${url}/bench/last-auth`)
  })
  return { entry, pid: worker, url, stop: async () => await stop(entry, 'SIGQUIT') }
}

/** One of bench/reference-proxy.mjs's baselines, in its own process (`pid` is measured like the proxy's). */
export async function startReference (kind, upstreamOrigin) {
  const spawnedAt = performance.now()
  const entry = start(`reference ${kind}`, process.execPath, [join(ROOT, 'bench/reference-proxy.mjs'), kind, upstreamOrigin])
  const { port } = JSON.parse(await firstLine(entry))
  const listeningMs = performance.now() - spawnedAt
  return { entry, pid: entry.child.pid, url: `http://127.0.0.1:${port}`, listeningMs, stop: async () => await stop(entry) }
}

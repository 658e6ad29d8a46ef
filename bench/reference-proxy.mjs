// Baselines, not the product: the reference proxies rebuilt on this machine, each loading only its own
// libraries (imports are per kind) so that its memory is comparable with the proxy's. No logging in any of them.
//   fastify:         Fastify + @fastify/http-proxy (our versions) with defaults, Authorization set per request.
//   node-http-proxy: node:http + http-proxy 1.18 (a devDependency) with a keep-alive http.Agent,
//                    Authorization set with proxyReq.setHeader.
//   fastify-undici:  a Fastify catch-all route that forwards with undici by hand (no reply-from).
//   undici:          node:http server + one undici Pool, hand-written, no framework.
// Usage: node bench/reference-proxy.mjs KIND UPSTREAM_ORIGIN   (prints {"port":N} once listening)
import { Agent, createServer } from 'node:http'
import { BENCH_TOKEN } from './lib/bench-token.mjs'

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'host'])
const BEARER = `Bearer ${BENCH_TOKEN}`
/** Upstream sockets per baseline, as many as nginx's `keepalive 64`. */
const UPSTREAM_CONNECTIONS = 64
/** Longer than any pause between rounds, like the upstream's own keep-alive. */
const CLIENT_KEEP_ALIVE_MS = 120_000

async function fastify (origin) {
  const { default: Fastify } = await import('fastify')
  const { default: httpProxy } = await import('@fastify/http-proxy')
  const app = Fastify({ logger: false })
  await app.register(httpProxy, {
    upstream: origin,
    replyOptions: { rewriteRequestHeaders: (_req, headers) => ({ ...headers, authorization: BEARER }) }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return app.server.address().port
}

async function nodeHttpProxy (origin) {
  const { default: httpProxy } = await import('http-proxy')
  const agent = new Agent({ keepAlive: true, maxSockets: UPSTREAM_CONNECTIONS, maxFreeSockets: UPSTREAM_CONNECTIONS })
  const proxy = httpProxy.createProxyServer({ target: origin, agent, xfwd: false })
  proxy.on('proxyReq', (proxyReq) => { proxyReq.setHeader('authorization', BEARER) })
  proxy.on('error', (err, _req, res) => {
    if (!res.headersSent) res.writeHead(502)
    res.end(String(err.code ?? 'error'))
  })
  return await listen(createServer((req, res) => { proxy.web(req, res) }))
}

function upstreamHeaders (incoming) {
  const headers = {}
  for (const name in incoming) if (!HOP.has(name)) headers[name] = incoming[name]
  headers.authorization = BEARER
  return headers
}

async function fastifyUndici (origin) {
  const { default: Fastify } = await import('fastify')
  const { Pool } = await import('undici')
  const pool = new Pool(origin, { connections: UPSTREAM_CONNECTIONS, pipelining: 1, keepAliveTimeout: 30_000 })
  const app = Fastify({ logger: false })
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, payload, done) => { done(null, payload) })
  app.all('/*', async (request, reply) => {
    const { statusCode, headers, body } = await pool.request({ method: request.method, path: request.raw.url, headers: upstreamHeaders(request.headers), body: request.body ?? null })
    reply.code(statusCode)
    for (const name in headers) if (!HOP.has(name)) reply.header(name, headers[name])
    return reply.send(body)
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return app.server.address().port
}

async function undici (origin) {
  const { Pool } = await import('undici')
  const pool = new Pool(origin, { connections: UPSTREAM_CONNECTIONS, pipelining: 1, keepAliveTimeout: 30_000 })
  return await listen(createServer((req, res) => {
    pool.request({ method: req.method, path: req.url, headers: upstreamHeaders(req.headers), body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
      .then(({ statusCode, headers: up, body }) => {
        const out = {}
        for (const name in up) if (!HOP.has(name)) out[name] = up[name]
        res.writeHead(statusCode, out)
        body.pipe(res)
      }, (err) => { res.writeHead(502).end(String(err.code ?? 'error')) })
  }))
}

async function listen (server) {
  server.keepAliveTimeout = CLIENT_KEEP_ALIVE_MS
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server.address().port
}

const KINDS = { fastify, 'node-http-proxy': nodeHttpProxy, 'fastify-undici': fastifyUndici, undici }

const [kind, origin] = process.argv.slice(2)
if (!Object.hasOwn(KINDS, kind ?? '') || origin === undefined) {
  console.error(`usage: node bench/reference-proxy.mjs ${Object.keys(KINDS).join('|')} UPSTREAM_ORIGIN`)
  process.exit(2)
}
const port = await KINDS[kind](origin)
process.stdout.write(`${JSON.stringify({ port })}\n`)
process.on('SIGTERM', () => process.exit(0))

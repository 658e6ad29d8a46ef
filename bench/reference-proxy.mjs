// Reference points for the profile's A/B table, not the product: the baselines rebuilt on this machine.
//   fastify: Fastify + @fastify/http-proxy with defaults, no logging, Authorization set per request.
//   fastify-undici: a Fastify catch-all route that forwards with undici by hand (no reply-from), no logging.
//   undici:  node:http server + one undici Pool, hand-written, no framework, no logging.
// Usage: node bench/reference-proxy.mjs fastify|fastify-undici|undici UPSTREAM_ORIGIN   (prints {"port":N})
import { createServer } from 'node:http'
import Fastify from 'fastify'
import httpProxy from '@fastify/http-proxy'
import { Pool } from 'undici'
import { BENCH_TOKEN } from './lib/targets.mjs'

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'host'])
const BEARER = `Bearer ${BENCH_TOKEN}`

async function fastify (origin) {
  const app = Fastify({ logger: false })
  await app.register(httpProxy, {
    upstream: origin,
    replyOptions: { rewriteRequestHeaders: (_req, headers) => ({ ...headers, authorization: BEARER }) }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return app.server.address().port
}

function upstreamHeaders (incoming) {
  const headers = {}
  for (const name in incoming) if (!HOP.has(name)) headers[name] = incoming[name]
  headers.authorization = BEARER
  return headers
}

async function fastifyUndici (origin) {
  const pool = new Pool(origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 })
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
  const pool = new Pool(origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 })
  const server = createServer((req, res) => {
    pool.request({ method: req.method, path: req.url, headers: upstreamHeaders(req.headers), body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
      .then(({ statusCode, headers: up, body }) => {
        const out = {}
        for (const name in up) if (!HOP.has(name)) out[name] = up[name]
        res.writeHead(statusCode, out)
        body.pipe(res)
      }, (err) => { res.writeHead(502).end(String(err.code ?? 'error')) })
  })
  server.keepAliveTimeout = 120_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server.address().port
}

const [kind, origin] = process.argv.slice(2)
const kinds = { fastify, 'fastify-undici': fastifyUndici, undici }
if (!Object.hasOwn(kinds, kind ?? '') || origin === undefined) {
  console.error('usage: node bench/reference-proxy.mjs fastify|fastify-undici|undici UPSTREAM_ORIGIN')
  process.exit(2)
}
const port = await kinds[kind](origin)
process.stdout.write(`${JSON.stringify({ port })}\n`)
process.on('SIGTERM', () => process.exit(0))

import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { Config } from '../core/config.js'
import { ERRORS, ProxyError, errorBody, proxyStatusHeader } from '../core/errors.js'
import { createLogger } from '../core/log.js'
import { adminRoutes } from '../ops/health.js'
import { Metrics, routeClass } from '../ops/metrics.js'
import { createDispatcher, createTokenFetch } from '../core/http-clients.js'
import { forwardPlugin } from '../proxy/forward.js'
import { checkTarget, pathOf } from '../proxy/target.js'
import { causeCode } from '../proxy/upstream-errors.js'
import { clearUpstreamHeaders } from '../proxy/headers.js'
import { createAccessGuard } from '../proxy/access.js'
import { Discovery } from '../token/discovery.js'
import { createObtain } from '../token/obtain.js'
import type { FetchFn } from '../token/token-client.js'
import { TokenProvider, systemClock, type Clock } from '../token/token-provider.js'
import { readRedisTarget } from '../token/fleet/redis-url.js'
import { fleetMetrics } from '../ops/fleet-metrics.js'

export interface AppDeps {
  fetch?: FetchFn
  clock?: Clock
  logger?: Logger
  dispatcher?: Dispatcher
  env?: NodeJS.ProcessEnv
}

export interface ProxyApp {
  /** The proxy: forwards everything outside /_proxy/. */
  app: FastifyInstance
  /** The optional admin listener: /_proxy/* only, never forwards. */
  admin: FastifyInstance | undefined
  provider: TokenProvider
  discovery: Discovery
  metrics: Metrics
  logger: Logger
  /** Stops the token timers, both servers and the upstream pool, letting requests in flight finish. */
  close: () => Promise<void>
  /** Cuts what is still open: every connection, in and out. */
  abort: () => void
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/
const TOKEN_CODES = new Set(['token_rejected', 'token_invalid_response', 'token_unavailable', 'discovery_failed'])

/** Builds the proxy (and admin listener) from a validated config; never listens. */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<ProxyApp> {
  const s = config.settings
  const logger = deps.logger ?? createLogger(s.logLevel)
  const clock = deps.clock ?? systemClock
  const env = deps.env ?? process.env
  const tokenFetch = deps.fetch !== undefined ? { fetch: deps.fetch, close: async () => {} } : createTokenFetch(env)
  const fetchFn: FetchFn = tokenFetch.fetch
  const dispatcher = deps.dispatcher ?? createDispatcher(s, env)
  const discovery = new Discovery({
    issuer: s.issuer,
    tokenUrl: s.tokenUrl,
    apiUrl: s.apiUrl,
    fetch: fetchFn,
    timeoutMs: s.tokenTimeoutMs,
    onDiscovered: (what, value) => { logger.info({ [what === 'token_endpoint' ? 'tokenUrl' : 'apiUrl']: { value, from: 'discovered' } }, `${what === 'token_endpoint' ? 'token endpoint' : 'API origin'} discovered from ${s.issuer}`) }
  })
  // The gauges read the provider lazily, at scrape time.
  const metrics: Metrics = new Metrics(() => provider)
  const obtain = createObtain(s, config.credentials, discovery, fetchFn, clock.now, (err) => {
    logger.warn({ code: (err as ProxyError).code }, `a token was obtained but requests cannot be forwarded: ${(err as Error).message}`)
  })
  // Fleet hook (issue 14): with REDIS_URL the token is shared through Redis; the Redis client is loaded only then.
  const redisTarget = readRedisTarget(env)
  const fleet = redisTarget === undefined
    ? undefined
    : (await import('../token/fleet/fleet.js')).startFleet({ target: redisTarget, settings: s, credentials: config.credentials, tokenEndpoint: async () => await discovery.tokenEndpoint(), obtain, now: clock.now, log: logger, observer: fleetMetrics(metrics.registry) })
  const provider: TokenProvider = new TokenProvider({
    obtain: fleet?.obtain ?? obtain,
    clock,
    log: logger,
    refreshAhead: s.refreshAhead,
    configErrorRetryMs: s.configErrorRetrySec * 1000,
    onOutcome: (outcome, oauthError, t) => { if (t === undefined || fleet?.fromFleet(t) !== true) metrics.tokenOutcome(outcome, oauthError) },
    onInvalidate: fleet?.invalidate
  })
  const guard = createAccessGuard(s, config.credentials.apiKeys)
  const adminOptions = {
    provider,
    apiProblem: async (tenantId: string | undefined) => await discovery.apiOriginProblem(tenantId),
    metrics: async () => await metrics.text(),
    metricsContentType: metrics.contentType
  }

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: the one request line carries reqId itself.
    childLoggerFactory: (parent) => parent,
    genReqId: (req) => {
      const id = req.headers['x-request-id']
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID()
    },
    requestIdHeader: false,
    bodyLimit: s.maxBodyBytes,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    requestTimeout: 0,
    connectionTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // connectionsCheckingInterval: Node checks headersTimeout only this often (30 s by default).
    http: { headersTimeout: s.headersTimeoutMs, maxHeaderSize: s.maxHeaderBytes, requestTimeout: Math.max(s.upstreamTimeoutMs, s.headersTimeoutMs), connectionsCheckingInterval: 1_000 },
    clientErrorHandler,
    routerOptions: { maxParamLength: 2048 },
    // The router refuses some targets (broken percent-escapes) before any hook: same JSON shape.
    frameworkErrors: (err, request, reply) => { sendError(new ProxyError('bad_request', `the request target is malformed (${err.message}): ${ERRORS.bad_request.remedy}`), request, reply, metrics) }
  })
  decorate(app, metrics)

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    try {
      checkTarget(request.raw.url ?? '')
      // A CORS preflight is answered by the guard: the hook ends without done().
      if (guard.check(request, reply) !== undefined) return
    } catch (err) {
      done(err as Error)
      return
    }
    done()
  })
  await app.register(adminRoutes, adminOptions)
  app.all('/_proxy/*', async () => {
    throw new ProxyError('not_found', 'no such proxy endpoint: use /_proxy/healthz, /_proxy/readyz or /_proxy/metrics')
  })
  await app.register(forwardPlugin, {
    provider,
    discovery,
    dispatcher,
    maxBodyBytes: s.maxBodyBytes,
    maxConcurrent: s.maxConcurrentUpstream,
    publicOrigin: guard.publicOrigin,
    admit: guard.admit,
    onUpstream401: () => { metrics.upstream401() },
    onReplay: () => { metrics.replay() }
  })

  let admin: FastifyInstance | undefined
  if (s.adminPort !== undefined) {
    admin = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), genReqId: () => randomUUID(), forceCloseConnections: true })
    decorate(admin, metrics)
    await admin.register(adminRoutes, adminOptions)
    admin.all('/*', async () => {
      throw new ProxyError('not_found', 'the admin listener serves only /_proxy/healthz, /_proxy/readyz and /_proxy/metrics; it never forwards')
    })
  }

  return {
    app,
    admin,
    provider,
    discovery,
    metrics,
    logger,
    close: async () => {
      provider.stop()
      fleet?.close()
      // Keep-alive sockets that go idle while draining are closed at once, not after keepAliveTimeout.
      const sweep = setInterval(() => { app.server.closeIdleConnections() }, 100)
      try {
        await Promise.all([app.close(), admin?.close()])
        await dispatcher.close().catch(() => { /* already closed by reply-from */ })
        await tokenFetch.close()
      } finally {
        clearInterval(sweep)
      }
    },
    abort: () => {
      app.server.closeAllConnections()
      admin?.server.closeAllConnections()
      dispatcher.destroy().catch(() => { /* already destroyed */ })
    }
  }
}

/** Error shape, 404s and the one log line per request, shared by the proxy and the admin listener. */
function decorate (app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((err: FastifyError | ProxyError, request, reply) => { sendError(toProxyError(err, request), request, reply, metrics) })
  app.setNotFoundHandler(async (request) => {
    throw new ProxyError('method_not_allowed', `${request.method} is not forwarded: the proxy forwards GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS`)
  })
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply, metrics)
    done()
  })
}

/** The one info line per request, and its metrics. */
function logRequest (request: FastifyRequest, reply: FastifyReply, metrics: Metrics): void {
  const path = pathOf(request.raw.url ?? '')
  const cls = routeClass(path)
  const ctx = (request as FastifyRequest & { proxyCtx?: { upstreamMs?: number, token?: { fingerprint: string } } | null }).proxyCtx
  metrics.request(request.method, cls, reply.statusCode, ctx?.upstreamMs)
  if (cls === 'admin') return
  request.log.info({
    reqId: request.id,
    method: request.method,
    path,
    status: reply.statusCode,
    ms: Math.round(reply.elapsedTime * 10) / 10,
    upstreamMs: ctx?.upstreamMs === undefined ? undefined : Math.round(ctx.upstreamMs * 10) / 10,
    token: ctx?.token?.fingerprint
  }, 'request')
}

/** Node answers some errors before Fastify sees a request (431, 408): same JSON shape and Proxy-Status. */
function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy()
    return
  }
  const pe = err.code === 'HPE_HEADER_OVERFLOW'
    ? new ProxyError('request_header_fields_too_large', 'the request headers are larger than the proxy accepts (PROXY_MAX_HEADER_BYTES)')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ProxyError('request_timeout', 'the request did not arrive in time (PROXY_HEADERS_TIMEOUT_MS)')
      : new ProxyError('bad_request', 'the request is not valid HTTP/1.1')
  const body = JSON.stringify(errorBody(pe))
  socket.end(`HTTP/1.1 ${pe.status} ${STATUS_CODES[pe.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nProxy-Status: ${proxyStatusHeader(pe)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

function toProxyError (err: FastifyError | ProxyError, request: FastifyRequest): ProxyError {
  if (err instanceof ProxyError) return err
  const code = (err as FastifyError).code
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ProxyError('payload_too_large', `the request body is larger than ${request.routeOptions.bodyLimit ?? ''} bytes (PROXY_MAX_BODY_BYTES)`)
  const status = (err as FastifyError).statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return new ProxyError('bad_request', `the request is malformed (${err.message}): ${ERRORS.bad_request.remedy}`, { cause: err })
  }
  return new ProxyError('internal_error', `unexpected error; see the proxy log for request id ${request.id}`, { cause: err })
}

function sendError (err: ProxyError, request: FastifyRequest, reply: FastifyReply, metrics: Metrics): void {
  // Token errors are logged by the token provider, once per kind: the request line is enough here.
  if (err.code === 'internal_error') request.log.error({ err: err.cause ?? err, reqId: request.id }, err.message)
  else if (err.status >= 500 && !TOKEN_CODES.has(err.code)) request.log.warn({ code: err.code, reqId: request.id, cause: causeCode(err.cause) }, err.message)
  if (err.status < 500 || err.code === 'too_busy') metrics.rejected(err.code)
  if (reply.sent || reply.raw.headersSent) {
    // The answer already started: break it rather than present a short body as complete.
    reply.raw.destroy(err)
    return
  }
  clearUpstreamHeaders(reply)
  reply.code(err.status)
  reply.header('x-request-id', request.id)
  reply.header('proxy-status', proxyStatusHeader(err))
  reply.header('content-type', 'application/json; charset=utf-8')
  // A body still arriving (an upload refused midway) would hold the connection open: close it.
  if (!request.raw.complete) reply.header('connection', 'close')
  const retryAfter = err.retryAfterSec ?? (err.status === 503 ? 1 : undefined)
  if (retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))))
  reply.send(errorBody(err))
}

import type { IncomingMessage, ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyRequest, type onRequestHookHandler } from 'fastify'
import type { Logger } from 'pino'
import type { AnsweredRequest } from '../core/answered-request.js'
import type { Settings } from '../core/config.js'
import { clientErrorHandler, sendError, toProxyError, writeRawError, type AnswerHooks } from '../core/error-reply.js'
import { ERRORS, ProxyError } from '../core/errors.js'
import type { CallerPolicy } from '../core/caller-policy.js'
import { isLoopbackHost } from '../core/net.js'
import { pathOf } from '../core/paths.js'
import { unixBaseUrl, unixSocketOf } from '../core/unix-sockets.js'
import { NO_SCHEMA_COMPILERS } from '../core/no-schemas.js'
import { requestIds } from '../core/request-id.js'
import { admit, publicOriginOf, type AdmissionRules } from './admission.js'
import { forwardPlugin, type ForwardOptions } from './forward.js'
import { localAuthPlugin, type LocalAuthOptions } from './local-auth.js'

export interface ListenerOptions {
  settings: Settings
  /** The admission rules in force (a reload may replace them). */
  rules: () => AdmissionRules
  forward: Omit<ForwardOptions, 'publicOrigin'>
  /** The proxy's own endpoints (/_proxy/healthz, readyz, metrics), served before forwarding. */
  ownRoutes: FastifyPluginAsync
  hooks: AnswerHooks
  /** issue 23: the local auth endpoints, when PROXY_LOCAL_AUTH is on for this profile. */
  localAuth?: Omit<LocalAuthOptions, 'origin' | 'keyed'> | undefined
  /** The profile's own Unix socket, if it has one: a call on it counts as loopback for the loopback caller. */
  ownSocket?: string | undefined
  /** Told of every answered request, for the log line and metrics. */
  requestDone: (r: AnsweredRequest) => void
  /** issue 22, shadow mode: a refusal a caller's policy or share would have made. */
  wouldRefuse?: (request: FastifyRequest, err: ProxyError) => void
}

declare module 'fastify' {
  interface FastifyRequest {
    /** issue 22: the named caller admission recognised; null without callers. */
    callerPolicy: CallerPolicy | null
    /** The error code the proxy answered with, if it did. */
    refusal: string | null
  }
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/
/** Node checks headersTimeout only this often (30 s by default): 1 s makes PROXY_HEADERS_TIMEOUT_MS real. */
const CONNECTIONS_CHECK_MS = 1_000
/** Longest path parameter Fastify's router accepts; API paths with ids are long. */
const MAX_PARAM_LENGTH = 2048

/** The main listener: admission (admission.ts) on every request, then forwarding (forward.ts and its stages). */
export async function createProxyListener (logger: Logger, o: ListenerOptions): Promise<FastifyInstance> {
  const s = o.settings
  const nextId = requestIds()
  // The error code answered goes with the request to its log line and its caller's row.
  const hooks: AnswerHooks = { ...o.hooks, answered: (err, request) => { request.refusal = err.code; o.hooks.answered?.(err, request) } }
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: the one request line carries reqId itself.
    childLoggerFactory: (parent) => parent,
    genReqId: (req) => {
      const id = req.headers['x-request-id']
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : nextId()
    },
    requestIdHeader: false,
    schemaController: NO_SCHEMA_COMPILERS,
    bodyLimit: s.maxBodyBytes,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    requestTimeout: 0,
    connectionTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    http: {
      headersTimeout: s.headersTimeoutMs,
      maxHeaderSize: s.maxHeaderBytes,
      requestTimeout: Math.max(s.upstreamTimeoutMs, s.headersTimeoutMs),
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS
    },
    clientErrorHandler,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router refuses some targets (broken percent-escapes) before any hook: same JSON shape.
    frameworkErrors: (err, request, reply) => { sendError(new ProxyError('bad_request', `the request target is malformed (${err.message}): ${ERRORS.bad_request.remedy}`), request, reply, hooks) }
  })
  // Every header line is counted by admission (PROXY_MAX_HEADER_COUNT), never dropped silently by Node.
  app.server.maxHeadersCount = 0
  // Node answers an Expect it does not know with a bare 417: the same JSON shape instead.
  app.server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    writeRawError(res.socket as NonNullable<typeof res.socket>, new ProxyError('expectation_failed', `only "Expect: 100-continue" is understood: ${ERRORS.expectation_failed.remedy}`))
  })

  app.setErrorHandler((err: Error, request, reply) => { sendError(toProxyError(err, request), request, reply, hooks) })
  app.setNotFoundHandler(async (request) => {
    throw new ProxyError('method_not_allowed', `${request.method} is not forwarded: the proxy forwards GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS`)
  })
  app.decorateRequest('callerPolicy', null)
  app.decorateRequest('refusal', null)
  app.addHook('onRequest', admissionHook(o))
  app.addHook('onResponse', (request, reply, done) => {
    const journey = request.journey
    const ctx = journey?.ctx
    o.requestDone({ reqId: request.id, method: request.method, path: pathOf(request.raw.url ?? ''), status: reply.statusCode, ms: reply.elapsedTime, upstreamMs: ctx?.upstreamMs, token: ctx?.token.fingerprint, profile: o.forward.profile, upstream: ctx?.upstream, quota: journey?.spared, caller: request.callerPolicy?.caller.name, refusal: request.refusal ?? undefined })
    done()
  })
  await app.register(o.ownRoutes)
  app.all('/_proxy/*', async () => {
    throw new ProxyError('not_found', 'no such proxy endpoint: use /_proxy/healthz, /_proxy/readyz or /_proxy/metrics')
  })
  // The proxy's own origin as this caller reaches it: PROXY_PUBLIC_URL or its Host; a caller on a Unix socket follows
  // links to `http://<its Host>` through its socket (core/unix-sockets.ts).
  const origin = (request: FastifyRequest): string => unixSocketOf(request.raw.socket) === undefined ? publicOriginOf(o.rules(), request.headers.host) : unixBaseUrl(request.headers.host)
  // issue 23: the local auth endpoints' exact paths win over the forwarder's wildcard.
  if (o.localAuth !== undefined) await app.register(localAuthPlugin, { ...o.localAuth, origin, keyed: () => o.rules().keyDigests.length > 0 })
  await app.register(forwardPlugin, { ...o.forward, publicOrigin: origin })
  return app
}

/** Admission on every request (admission.ts): the caller its connection or key names, the refusals, CORS. */
function admissionHook (o: ListenerOptions): onRequestHookHandler {
  return (request, reply, done) => {
    reply.header('x-request-id', request.id)
    let verdict
    try {
      const rules = o.rules()
      verdict = admit({ method: request.method, url: request.raw.url ?? '', headers: request.headers, rawHeaders: request.raw.rawHeaders }, rules, rules.callers === undefined ? undefined : arrivalOf(request, o.ownSocket))
    } catch (err) {
      done(err as Error)
      return
    }
    // A placeholder naming a caller wins over the connection's (admission's last word).
    if (verdict.policy !== undefined) request.callerPolicy = verdict.policy
    if (verdict.wouldRefuse !== undefined) o.wouldRefuse?.(request, verdict.wouldRefuse)
    if (verdict.cors !== undefined) reply.headers(verdict.cors)
    // A CORS preflight is answered here, never forwarded: the hook ends without done().
    if (verdict.preflight) {
      reply.code(204).send()
      return
    }
    done()
  }
}

/** How a request's connection came, for recognising a named caller (read only when the profile has callers). */
function arrivalOf (request: FastifyRequest, ownSocket: string | undefined): NonNullable<Parameters<typeof admit>[2]> {
  const socketPath = unixSocketOf(request.raw.socket)
  const loopback = socketPath === undefined ? isLoopbackHost(request.raw.socket.remoteAddress ?? '') : socketPath === ownSocket
  return { socketPath, loopback, recognised: (policy) => { request.callerPolicy = policy } }
}

/**
 * The composition root: builds the components from a validated config and wires them. Each component is
 * created from config and returns what it needs to start and close: the token layer (one per credential), the
 * observability (metrics and the request log), the proxy listener, the optional admin listener. Nothing here
 * listens: server.ts does.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { Config } from '../core/config.js'
import { createLogger } from '../core/log.js'
import { createDispatcher, createTokenFetch, type FetchFn } from '../core/http-clients.js'
import type { AnswerHooks } from '../core/answer.js'
import { createObservability } from '../ops/observability.js'
import { createAdminListener } from '../ops/admin-listener.js'
import { adminRoutes, type AdminOptions } from '../ops/health.js'
import type { Metrics } from '../ops/metrics.js'
import { quitRoute, quitSignal } from '../ops/quit.js'
import { statusProfile, statusRoutes, type StatusOptions } from '../ops/status.js'
import { effectiveSettings } from './effective-settings.js'
import { compileRules } from '../proxy/admission.js'
import { BodyBuffer } from '../proxy/body.js'
import { UpstreamGate } from '../proxy/gate.js'
import { createProxyListener } from '../proxy/listener.js'
import type { Discovery } from '../token/discovery.js'
import { createTokenLayer } from '../token/token-layer.js'
import { systemClock, type Clock, type TokenProvider } from '../token/token-provider.js'

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
  /** Resolves when POST /_proxy/quitquitquit asks the process to drain and exit. */
  quitRequested: Promise<string>
  /** Starts the token's first fetch in the background. */
  start: () => void
  /** Stops the token timers, both servers and the upstream pool, letting requests in flight finish. */
  close: () => Promise<void>
  /** Cuts what is still open: every connection, in and out. */
  abort: () => void
}

/** Requests waiting for a place upstream at most: a cold-start burst waits its turn, a flood is refused at once. */
const MAX_QUEUED = 4096
/** While draining, idle keep-alive sockets are closed this often rather than after keepAliveTimeout. */
const DRAIN_SWEEP_MS = 100

/** Builds the proxy (and admin listener) from a validated config; never listens. */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<ProxyApp> {
  const s = config.settings
  const logger = deps.logger ?? createLogger(s.logLevel)
  const env = deps.env ?? process.env
  const tokenFetch = deps.fetch !== undefined ? { fetch: deps.fetch, close: async () => {} } : createTokenFetch(env)
  const dispatcher = deps.dispatcher ?? createDispatcher(s, env)

  const clock = deps.clock ?? systemClock
  const observability = createObservability(logger, () => tokens.provider, clock.now)
  const { metrics } = observability
  const tokens = createTokenLayer(s, config.credentials, {
    fetch: tokenFetch.fetch,
    clock,
    logger,
    onOutcome: (outcome, oauthError) => { metrics.tokenOutcome(outcome, oauthError) }
  })
  const hooks: AnswerHooks = {
    rejected: (code) => { metrics.rejected(code) },
    answered: (err, request) => {
      metrics.activity.error({ reqId: request.id, method: request.method, path: (request.raw.url ?? '').split('?', 1)[0] as string, status: err.status, code: err.code, message: err.message })
    }
  }
  const routes: AdminOptions = {
    provider: tokens.provider,
    apiProblem: async (tenantId) => await tokens.discovery.apiOriginProblem(tenantId),
    metrics: async () => await metrics.text(),
    metricsContentType: metrics.contentType
  }
  const status: StatusOptions = {
    now: clock.now,
    settings: () => effectiveSettings(config),
    profiles: () => [statusProfile('default', tokens.provider, tokens.discovery, metrics.activity, s.apiUrl !== undefined)]
  }
  const quit = quitSignal()

  const places = Math.min(s.maxConcurrentUpstream, s.upstreamConnections)
  const app = await createProxyListener(logger, {
    settings: s,
    rules: compileRules(s, config.credentials.apiKeys),
    forward: {
      provider: tokens.provider,
      discovery: tokens.discovery,
      dispatcher,
      // No more in flight than there are connections: undici would queue the rest with no bound on the wait.
      gate: new UpstreamGate({ maxConcurrent: places, queueTimeoutMs: s.queueTimeoutMs, maxQueued: MAX_QUEUED }),
      bodies: new BodyBuffer({ maxBytes: s.maxBodyBytes, maxBufferedBytes: s.maxBufferedBytes, timeoutMs: s.bodyTimeoutMs }),
      upstreamTimeoutMs: s.upstreamTimeoutMs,
      onUpstream401: () => { metrics.upstream401() },
      onReplay: () => { metrics.replay() }
    },
    ownRoutes: async (scope) => {
      await scope.register(adminRoutes, routes)
      await scope.register(statusRoutes, status)
      await scope.register(quitRoute, { signal: quit, graceMs: s.shutdownGraceMs })
    },
    hooks,
    requestDone: observability.requestDone
  })
  // Never quitquitquit on the admin listener: it may listen off loopback.
  const adminOwnRoutes = async (scope: FastifyInstance): Promise<void> => {
    await scope.register(adminRoutes, routes)
    await scope.register(statusRoutes, status)
  }
  const admin = s.adminPort === undefined ? undefined : await createAdminListener(logger, adminOwnRoutes, hooks, observability.requestDone)

  return {
    app,
    admin,
    provider: tokens.provider,
    discovery: tokens.discovery,
    metrics,
    logger,
    quitRequested: quit.requested,
    start: () => { tokens.start() },
    close: async () => {
      tokens.close()
      // Keep-alive sockets that go idle while draining are closed at once, not after keepAliveTimeout.
      const sweep = setInterval(() => { app.server.closeIdleConnections() }, DRAIN_SWEEP_MS)
      try {
        await Promise.all([app.close(), admin?.close()])
        await dispatcher.close().catch(() => { /* already closed */ })
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

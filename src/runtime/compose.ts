/**
 * The composition root: builds the components from a validated config and wires them. Each component is
 * created from config and returns what it needs to start and close: the token layer (one per credential), the
 * observability (metrics and the request log), the proxy listener, the optional admin listener. Nothing here
 * listens: server.ts does.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { Config, Settings } from '../core/config.js'
import { SECRET_VARS, SETTINGS, type SettingKey } from '../core/settings.js'
import { createLogger } from '../core/log.js'
import { createDispatcher, createTokenFetch, type FetchFn } from '../core/http-clients.js'
import type { AnswerHooks } from '../core/answer.js'
import { createObservability } from '../ops/observability.js'
import { fleetMetrics } from '../ops/fleet-metrics.js'
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
import { MicroCache } from '../proxy/micro-cache.js'
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
  /** Applies what a reload may change from `next`; says what changed and what needs a restart. */
  reload: (next: Config) => ReloadResult
  /** Stops the token timers, both servers and the upstream pool, letting requests in flight finish. */
  close: () => Promise<void>
  /** Cuts what is still open: every connection, in and out. */
  abort: () => void
}

export interface ReloadResult {
  /** Names of the settings and secrets that changed and were applied (never their values). */
  applied: string[]
  /** Names of the settings that changed but need a restart; left as they are. */
  restartNeeded: string[]
}

/** Settings a reload applies to the token layer (with the credentials). */
const TOKEN_KEYS: readonly SettingKey[] = ['issuer', 'tokenUrl', 'apiUrl', 'grantType', 'clientAuth', 'basicEncoding', 'scope', 'tokenTimeoutMs']
/** Settings a reload applies to admission (with the inbound keys). */
const ADMISSION_KEYS: readonly SettingKey[] = ['publicUrl', 'allowedHosts', 'corsOrigins', 'readOnly', 'routes']
const CREDENTIAL_KEYS = ['clientId', 'clientSecret', 'accessKeyId', 'accessKeySecret'] as const

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
  const tokens = await createTokenLayer(s, config.credentials, {
    fetch: tokenFetch.fetch,
    clock,
    logger,
    env,
    fleetObserver: () => fleetMetrics(metrics.registry),
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
    settings: () => effectiveSettings(current),
    profiles: () => [statusProfile('default', tokens.provider, tokens.discovery, metrics.activity, s.apiUrl !== undefined)]
  }
  const quit = quitSignal()

  let current = config
  let rules = compileRules(s, config.credentials.apiKeys)
  const places = Math.min(s.maxConcurrentUpstream, s.upstreamConnections)
  // One micro-cache per profile: its entries never serve another profile's callers.
  const cache = s.cache.length === 0
    ? undefined
    : new MicroCache({
      rules: s.cache,
      maxBytes: s.cacheMaxBytes,
      now: clock.now,
      events: { hit: () => { metrics.cacheLookup('hit') }, miss: () => { metrics.cacheLookup('miss') }, evicted: () => { metrics.cacheEvicted() } }
    })
  if (cache !== undefined) metrics.watchCache(() => cache.bytes)
  const app = await createProxyListener(logger, {
    settings: s,
    rules: () => rules,
    forward: {
      profile: 'default',
      provider: tokens.provider,
      discovery: tokens.discovery,
      dispatcher,
      // No more in flight than there are connections: undici would queue the rest with no bound on the wait.
      gate: new UpstreamGate({ maxConcurrent: places, queueTimeoutMs: s.queueTimeoutMs, maxQueued: MAX_QUEUED }),
      bodies: new BodyBuffer({ maxBytes: s.maxBodyBytes, maxBufferedBytes: s.maxBufferedBytes, timeoutMs: s.bodyTimeoutMs }),
      upstreamTimeoutMs: s.upstreamTimeoutMs,
      onUpstream401: () => { metrics.upstream401() },
      onReplay: () => { metrics.replay() },
      coalesce: s.coalesce,
      cache,
      onCoalesced: () => { metrics.coalesced() }
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
    reload: (next) => {
      const changed = (Object.keys(SETTINGS) as SettingKey[]).filter((k) => JSON.stringify(next.settings[k]) !== JSON.stringify(current.settings[k]))
      const credentialsChanged = CREDENTIAL_KEYS.filter((k) => next.credentials[k] !== current.credentials[k])
      const keysChanged = next.credentials.apiKeys.join('\n') !== current.credentials.apiKeys.join('\n')
      const reloadable = new Set<SettingKey>([...TOKEN_KEYS, ...ADMISSION_KEYS, 'logLevel'])
      const restartNeeded = changed.filter((k) => !reloadable.has(k))
      // What needs a restart keeps its running value; everything else comes from `next`.
      const settings: Settings = { ...next.settings }
      for (const k of restartNeeded) Object.assign(settings, { [k]: current.settings[k] })
      const merged: Config = { ...next, settings: Object.freeze(settings) }
      if (changed.some((k) => TOKEN_KEYS.includes(k)) || credentialsChanged.length > 0) tokens.reconfigure(settings, next.credentials)
      if (changed.some((k) => ADMISSION_KEYS.includes(k)) || keysChanged) rules = compileRules(settings, next.credentials.apiKeys)
      if (settings.logLevel !== current.settings.logLevel) logger.level = settings.logLevel
      current = merged
      return {
        applied: [...changed.filter((k) => reloadable.has(k)), ...credentialsChanged.map((k) => SECRET_VARS[k]), ...(keysChanged ? [SECRET_VARS.apiKeys] : [])],
        restartNeeded
      }
    },
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

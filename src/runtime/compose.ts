/**
 * The composition root: builds the components from a validated config and wires them. Each component is
 * created from config and returns what it needs to start and close: the token layer (one per credential), the
 * observability (metrics and the request log), the proxy listener, the optional admin listener. Nothing here
 * listens: server.ts does.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { Config, Profile, Settings } from '../core/config.js'
import { PROFILE_KEYS, SETTINGS, type SettingKey } from '../core/settings.js'
import { createLogger } from '../core/log.js'
import { createDispatcher, createTokenFetch, type FetchFn } from '../core/http-clients.js'
import type { AnswerHooks } from '../core/error-reply.js'
import { createObservability } from '../ops/observability.js'
import { fleetMetrics } from '../ops/fleet-metrics.js'
import { createAdminListener } from '../ops/admin-listener.js'
import { adminRoutes, type AdminOptions, type ProfileHealth } from '../ops/health.js'
import { ADMIN_PROFILE, type Metrics } from '../ops/metrics.js'
import { quitRoute, quitSignal } from '../ops/quit.js'
import { statusProfile, statusRoutes, type StatusOptions } from '../ops/status.js'
import { effectiveSettings } from './effective-settings.js'
import { compileRules, type AdmissionRules } from '../proxy/admission.js'
import { compileRouting, type RoutingTable } from '../core/routing.js'
import { BodyBuffer } from '../proxy/body.js'
import { UpstreamGate } from '../proxy/gate.js'
import { createProxyListener } from '../proxy/listener.js'
import { MicroCache } from '../quota/micro-cache.js'
import type { Discovery, TenantHosts } from '../token/discovery.js'
import { createTokenLayer, type TokenLayer } from '../token/token-layer.js'
import { routingView, upstreamsView, type RouteView } from '../token/upstreams.js'
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
  /** Every profile (business unit), the default one first: each with its own listener and token. */
  profiles: readonly ProfileApp[]
  /** A profile's routing table in force (the default's by default), each row with its origin (null until discovered). */
  routing: (profile?: string) => RouteView[]
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
const TOKEN_KEYS: readonly SettingKey[] = ['issuer', 'tokenUrl', 'apiUrl', 'uiUrl', 'digitalUrl', 'grantType', 'clientAuth', 'basicEncoding', 'scope', 'tokenTimeoutMs']
/** Settings a reload applies to admission (with the inbound keys). */
const ADMISSION_KEYS: readonly SettingKey[] = ['publicUrl', 'allowedHosts', 'corsOrigins', 'readOnly', 'routes']
/** Settings a reload applies to the routing table. */
const ROUTING_KEYS: readonly SettingKey[] = ['upstreams']
const CREDENTIAL_KEYS = ['clientId', 'clientSecret', 'accessKeyId', 'accessKeySecret'] as const

/** Requests waiting for a place upstream at most: a cold-start burst waits its turn, a flood is refused at once. */
const MAX_QUEUED = 4096
/** While draining, idle keep-alive sockets are closed this often rather than after keepAliveTimeout. */
const DRAIN_SWEEP_MS = 100

/** One profile's components: its token layer, rules, routing table and listener. */
export interface ProfileApp {
  readonly name: string
  /** The port it listens on (the default profile's is PROXY_PORT). */
  readonly port: number
  readonly app: FastifyInstance
  readonly provider: TokenProvider
  readonly discovery: Discovery
}

/** Builds the proxy (and admin listener) from a validated config; never listens. */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<ProxyApp> {
  const s = config.settings
  const logger = deps.logger ?? createLogger(s.logLevel)
  const env = deps.env ?? process.env
  const tokenFetch = deps.fetch !== undefined ? { fetch: deps.fetch, close: async () => {} } : createTokenFetch(env)
  const dispatcher = deps.dispatcher ?? createDispatcher(s, env)
  const clock = deps.clock ?? systemClock

  const built: BuiltProfile[] = []
  const observability = createObservability(logger, () => built.map((p) => ({ name: p.name, provider: p.tokens.provider, upstreams: p.routing.upstreams })), clock.now)
  const { metrics } = observability
  let fleetFor: ReturnType<typeof fleetMetrics> | undefined
  /** A listener's answer hooks: its refusals are counted under its profile. */
  const hooksFor = (profile: string): AnswerHooks => ({
    rejected: (code) => { metrics.rejected(code, profile) },
    answered: (err, request) => {
      metrics.activity.error({ reqId: request.id, method: request.method, path: (request.raw.url ?? '').split('?', 1)[0] as string, status: err.status, code: err.code, message: err.message })
    }
  })
  const quit = quitSignal()
  // Process-wide: the upstream places (no more in flight than there are connections: undici would queue the rest
  // with no bound on the wait) and the request bodies held, whatever the profile.
  const places = Math.min(s.maxConcurrentUpstream, s.upstreamConnections)
  const gate = new UpstreamGate({ maxConcurrent: places, queueTimeoutMs: s.queueTimeoutMs, maxQueued: MAX_QUEUED, clock })
  const bodies = new BodyBuffer({ maxBytes: s.maxBodyBytes, maxBufferedBytes: s.maxBufferedBytes, timeoutMs: s.bodyTimeoutMs })

  let current = config
  const health = (): ProfileHealth[] => built.map((p) => ({
    name: p.name,
    provider: p.tokens.provider,
    apiProblem: async (tenantId) => await p.tokens.discovery.apiOriginProblem(tenantId),
    upstreams: () => upstreamsView(p.routing, hostsOf(p))
  }))
  const routes: AdminOptions = { profiles: health, metrics: async () => await metrics.text(), metricsContentType: metrics.contentType }
  const status: StatusOptions = {
    now: clock.now,
    settings: () => effectiveSettings(current),
    profiles: () => built.map((p) => statusProfile(p.name, p.tokens.provider, p.tokens.discovery, metrics.activity, p.config.settings.apiUrl !== undefined))
  }

  /** One micro-cache per profile: its entries never serve another profile's callers. */
  function cacheFor (name: string, ps: Settings): MicroCache | undefined {
    if (ps.cache.length === 0) return undefined
    const cache = new MicroCache({
      rules: ps.cache,
      maxBytes: s.cacheMaxBytes,
      clock,
      events: { hit: () => { metrics.cacheLookup('hit', name) }, miss: () => { metrics.cacheLookup('miss', name) }, evicted: () => { metrics.cacheEvicted(name) } }
    })
    metrics.watchCache(name, () => cache.bytes)
    return cache
  }

  /** One profile's token layer, rules, routing table and listener; the default one also serves the proxy's own pages. */
  async function buildProfile (p: Profile): Promise<BuiltProfile> {
    const ps = p.settings
    // Every line about this profile's tokens and requests carries its name.
    const log = logger.child({ profile: p.name })
    const tokens = await createTokenLayer(ps, p.credentials, {
      profile: p.name,
      fetch: tokenFetch.fetch,
      clock,
      logger: log,
      env,
      fleetObserver: () => { fleetFor ??= fleetMetrics(metrics.registry); return fleetFor(p.name) },
      onOutcome: (outcome, oauthError) => { metrics.tokenOutcome(outcome, oauthError, p.name) }
    })
    const isDefault = built.length === 0
    const profile: BuiltProfile = { name: p.name, config: p, tokens, rules: compileRules(ps, p.credentials.apiKeys), routing: compileRouting(ps.upstreams), cache: cacheFor(p.name, ps), app: undefined as unknown as FastifyInstance }
    profile.app = await createProxyListener(log, {
      settings: ps,
      rules: () => profile.rules,
      forward: {
        profile: p.name,
        routing: () => profile.routing,
        provider: tokens.provider,
        discovery: tokens.discovery,
        dispatcher,
        gate,
        bodies,
        clock,
        upstreamTimeoutMs: ps.upstreamTimeoutMs,
        onUpstream401: () => { metrics.upstream401(p.name) },
        onReplay: () => { metrics.replay(p.name) },
        pace: ps.pace,
        paceMaxWaitMs: ps.paceMaxWaitMs,
        onShieldArmed: observability.shieldArmed,
        onPaceWait: observability.paceWaited,
        coalesce: ps.coalesce,
        cache: profile.cache,
        onCoalesced: () => { metrics.coalesced(p.name) }
      },
      ownRoutes: isDefault
        ? async (scope) => {
          await scope.register(adminRoutes, routes)
          await scope.register(statusRoutes, status)
          await scope.register(quitRoute, { signal: quit, graceMs: s.shutdownGraceMs })
        }
        // A profile's own port answers health and readiness for that profile only.
        : async (scope) => { await scope.register(adminRoutes, { profiles: health, only: p.name }) },
      hooks: hooksFor(p.name),
      requestDone: observability.requestDone
    })
    return profile
  }

  try {
    for (const p of config.profiles) built.push(await buildProfile(p))
  } catch (err) {
    for (const p of built) p.tokens.close()
    throw err
  }
  const main = built[0] as BuiltProfile

  // Never quitquitquit on the admin listener: it may listen off loopback.
  const adminOwnRoutes = async (scope: FastifyInstance): Promise<void> => {
    await scope.register(adminRoutes, routes)
    await scope.register(statusRoutes, status)
  }
  const admin = s.adminPort === undefined ? undefined : await createAdminListener(logger, adminOwnRoutes, hooksFor(ADMIN_PROFILE), observability.requestDone)
  const apps = built.map((p) => p.app)

  return {
    app: main.app,
    admin,
    profiles: built.map((p) => ({ name: p.name, port: p.config.settings.port, app: p.app, provider: p.tokens.provider, discovery: p.tokens.discovery })),
    provider: main.tokens.provider,
    discovery: main.tokens.discovery,
    metrics,
    logger,
    quitRequested: quit.requested,
    routing: (name = main.name) => {
      const p = built.find((x) => x.name === name) ?? main
      return routingView(p.routing, hostsOf(p))
    },
    start: () => { for (const p of built) p.tokens.start() },
    reload: (next) => {
      const nextProfiles = next.profiles
      const restartNeeded = new Set<string>()
      const applied = new Set<string>()
      // A profile added, removed or moved to another port needs a restart; the others are reloaded one by one.
      const shape = (ps: readonly Profile[]): string => ps.map((p) => `${p.name}:${p.settings.port}`).join(',')
      if (shape(nextProfiles) !== shape(built.map((p) => p.config))) restartNeeded.add('profiles')
      for (const p of built) {
        const np = nextProfiles.find((x) => x.name === p.name)
        if (np === undefined) continue
        const r = reloadProfile(p, np)
        // A process-wide setting is the default's: it is reported once, not once per profile.
        const own = (k: string): boolean => p === main || !(k in SETTINGS) || PROFILE_KEYS.includes(k as SettingKey)
        const prefix = p === main ? '' : `profiles.${p.name}.`
        for (const k of r.applied.filter(own)) applied.add(k in SETTINGS ? `${prefix}${k}` : k)
        for (const k of r.restartNeeded.filter(own)) restartNeeded.add(`${prefix}${k}`)
      }
      if (next.settings.logLevel !== current.settings.logLevel && !restartNeeded.has('logLevel')) logger.level = next.settings.logLevel
      current = { ...next, settings: main.config.settings }
      return { applied: [...applied], restartNeeded: [...restartNeeded] }
    },
    close: async () => {
      for (const p of built) p.tokens.close()
      // Keep-alive sockets that go idle while draining are closed at once, not after keepAliveTimeout.
      const sweep = setInterval(() => { for (const app of apps) app.server.closeIdleConnections() }, DRAIN_SWEEP_MS)
      try {
        await Promise.all([...apps.map(async (app) => { await app.close() }), admin?.close()])
        await dispatcher.close().catch(() => { /* already closed */ })
        await tokenFetch.close()
      } finally {
        clearInterval(sweep)
      }
    },
    abort: () => {
      for (const app of apps) app.server.closeAllConnections()
      admin?.server.closeAllConnections()
      dispatcher.destroy().catch(() => { /* already destroyed */ })
    }
  }

  /** Applies what a reload may change for one profile; what needs a restart keeps its running value. */
  function reloadProfile (p: BuiltProfile, next: Profile): ReloadResult {
    const was = p.config
    const changed = (Object.keys(SETTINGS) as SettingKey[]).filter((k) => JSON.stringify(next.settings[k]) !== JSON.stringify(was.settings[k]))
    const credentialsChanged = CREDENTIAL_KEYS.filter((k) => next.credentials[k] !== was.credentials[k])
    const keysChanged = next.credentials.apiKeys.join('\n') !== was.credentials.apiKeys.join('\n')
    const reloadable = new Set<SettingKey>([...TOKEN_KEYS, ...ADMISSION_KEYS, ...ROUTING_KEYS, 'logLevel'])
    const restartNeeded = changed.filter((k) => !reloadable.has(k))
    const settings: Settings = { ...next.settings }
    for (const k of restartNeeded) Object.assign(settings, { [k]: was.settings[k] })
    if (changed.some((k) => TOKEN_KEYS.includes(k)) || credentialsChanged.length > 0) {
      p.tokens.reconfigure(settings, next.credentials)
      // Answers kept for the old credentials or hosts are not served for the new ones.
      p.cache?.clear()
    }
    if (changed.some((k) => ADMISSION_KEYS.includes(k)) || keysChanged) p.rules = compileRules(settings, next.credentials.apiKeys)
    if (changed.some((k) => ROUTING_KEYS.includes(k))) p.routing = compileRouting(settings.upstreams)
    p.config = { ...next, settings: Object.freeze(settings) }
    return {
      applied: [...changed.filter((k) => reloadable.has(k)), ...credentialsChanged.map((k) => next.secretVars[k]), ...(keysChanged ? [next.secretVars.apiKeys] : [])],
      restartNeeded
    }
  }
}

/** A profile's upstream origins as known now: discovered for its token's tenant, else those set by their settings. */
function hostsOf (p: BuiltProfile): Partial<TenantHosts> {
  const d = p.tokens.discovery
  return d.knownHosts(p.tokens.provider.current()?.tenantId) ?? d.configuredHosts
}

interface BuiltProfile {
  readonly name: string
  config: Profile
  readonly tokens: TokenLayer
  rules: AdmissionRules
  routing: RoutingTable
  readonly cache: MicroCache | undefined
  app: FastifyInstance
}

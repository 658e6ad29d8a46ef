/**
 * The composition root: builds the components from a validated config and wires them. The process-wide parts
 * (process-parts.ts) are built once; each profile (business unit) is one component built by `profileBuilder`, which
 * returns what starts, closes and reloads it; the reload plan is reload-plan.ts's pure function. Nothing here
 * listens: server.ts does, and main.ts owns the process.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config, Profile, Settings } from '../core/config.js'
import { compileRouting, type RoutingTable } from '../core/routing.js'
import { createAdminListener } from '../ops/admin-listener.js'
import { adminRoutes, type AdminOptions, type ProfileHealth } from '../ops/health.js'
import { ADMIN_PROFILE, routeClass, type Metrics } from '../ops/metrics.js'
import { Activity } from '../ops/activity.js'
import { CallerActivity } from '../ops/caller-activity.js'
import { quitRoute } from '../ops/quit.js'
import { statusProfile, statusRoutes, type StatusOptions } from '../ops/status.js'
import { checkHost, compileRules, type AdmissionRules, type PlaceholderRules } from '../proxy/admission.js'
import { createProxyListener, type ListenerOptions } from '../proxy/listener.js'
import { CallerLimits } from '../quota/caller-limits.js'
import { MicroCache } from '../quota/micro-cache.js'
import type { Discovery, TenantHosts } from '../token/discovery.js'
import { createTokenLayer, type TokenLayer } from '../token/token-layer.js'
import type { TokenProvider } from '../token/token-provider.js'
import { routingView, upstreamsView, type RouteView } from '../token/upstreams.js'
import { callerHooks, identifyCallers } from './caller-wiring.js'
import { effectiveSettings } from './effective-settings.js'
import { abortListeners, closeListeners, createProcessParts, errorEntry, type AppDeps, type ProcessParts } from './process-parts.js'
import { planReload, type ProfileReload, type ReloadPlan } from './reload-plan.js'

export type { AppDeps } from './process-parts.js'

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

export type ReloadResult = Pick<ReloadPlan, 'applied' | 'restartNeeded'>

/** One profile's components: its token layer, rules, routing table and listener. */
export interface ProfileApp {
  readonly name: string
  /** The port it listens on (the default profile's is PROXY_PORT). */
  readonly port: number
  readonly app: FastifyInstance
  readonly provider: TokenProvider
  readonly discovery: Discovery
}

/** A built profile: what starts, closes and reloads it, and what the proxy's own pages read of it. */
interface ProfileComponent extends ProfileApp {
  readonly tokens: TokenLayer
  /** The profile in force (a reload replaces it). */
  readonly config: Profile
  readonly routing: RoutingTable
  readonly rules: AdmissionRules
  /** This profile's requests and errors, for its part of the status page (issue 25). */
  readonly activity: Activity
  /** issue 22: its named callers' rows. */
  readonly callers: CallerActivity
  start: () => void
  close: () => void
  reload: (plan: ProfileReload) => void
}

/** Builds the proxy (and admin listener) from a validated config; never listens. */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<ProxyApp> {
  const built: ProfileComponent[] = []
  const parts = createProcessParts(config, deps, () => built.map((p) => ({ name: p.name, provider: p.provider, upstreams: p.routing.upstreams })))
  let current = config
  const pages = ownPages(parts, built, () => current)
  const buildProfile = profileBuilder(parts, pages)
  try {
    for (const p of config.profiles) built.push(await buildProfile(p, built.length === 0))
  } catch (err) {
    for (const p of built) p.close()
    throw err
  }
  const main = built[0] as ProfileComponent
  const admin = parts.s.adminPort === undefined ? undefined : await createAdminListener(parts.logger, pages.admin, parts.hooksFor(ADMIN_PROFILE), parts.observability.requestDone, (host) => { checkHost(host, main.rules) })
  const apps = built.map((p) => p.app)
  return {
    app: main.app,
    admin,
    profiles: built.map(({ name, port, app, provider, discovery }) => ({ name, port, app, provider, discovery })),
    provider: main.provider,
    discovery: main.discovery,
    metrics: parts.metrics,
    logger: parts.logger,
    quitRequested: parts.quit.requested,
    routing: (name = main.name) => {
      const p = built.find((x) => x.name === name) ?? main
      return routingView(p.routing, hostsOf(p))
    },
    start: () => { for (const p of built) p.start() },
    reload: (next) => {
      const plan = planReload(built.map((p) => p.config), next)
      for (const r of plan.profiles) built.find((p) => p.name === r.name)?.reload(r)
      if (plan.logLevel !== undefined) parts.logger.level = plan.logLevel
      current = { ...next, settings: main.config.settings }
      return { applied: plan.applied, restartNeeded: plan.restartNeeded }
    },
    close: async () => {
      for (const p of built) p.close()
      await closeListeners(parts, apps, admin)
    },
    abort: () => { abortListeners(parts, apps, admin) }
  }
}

/** The proxy's own pages: health and readiness, metrics, the status page; the admin listener's set of them. */
interface OwnPages {
  readonly routes: AdminOptions
  readonly status: StatusOptions
  readonly health: () => ProfileHealth[]
  /** The admin listener's: never quitquitquit there, it may listen off loopback. */
  readonly admin: (scope: FastifyInstance) => Promise<void>
}

function ownPages (parts: ProcessParts, built: readonly ProfileComponent[], current: () => Config): OwnPages {
  const { metrics } = parts
  const health = (): ProfileHealth[] => built.map((p) => ({
    name: p.name,
    provider: p.provider,
    apiProblem: async (tenantId) => await p.discovery.apiOriginProblem(tenantId),
    upstreams: () => upstreamsView(p.routing, hostsOf(p))
  }))
  const routes: AdminOptions = { profiles: health, metrics: async () => await metrics.text(), metricsContentType: metrics.contentType }
  const status: StatusOptions = {
    now: parts.clock.now,
    settings: () => effectiveSettings(current()),
    profiles: () => built.map((p) => ({
      ...statusProfile(p.name, p.provider, p.discovery, p.activity, p.config.settings.apiUrl !== undefined, () => upstreamsView(p.routing, hostsOf(p))),
      callers: () => p.config.callers === undefined ? undefined : p.callers.rows()
    }))
  }
  const admin = async (scope: FastifyInstance): Promise<void> => {
    await scope.register(adminRoutes, routes)
    await scope.register(statusRoutes, status)
  }
  return { routes, status, health, admin }
}

/** One profile's component: its token layer, rules, routing table, micro-cache and listener. */
function profileBuilder (parts: ProcessParts, pages: OwnPages): (p: Profile, isDefault: boolean) => Promise<ProfileComponent> {
  const { logger, clock, env, metrics, observability } = parts
  const placeholders = (profile: string): PlaceholderRules => ({ key: parts.placeholderKey, profile, now: clock.now })
  return async function buildProfile (p: Profile, isDefault: boolean): Promise<ProfileComponent> {
    const ps = p.settings
    // Every line about this profile's tokens and requests carries its name.
    const log = logger.child({ profile: p.name })
    const tokens = await createTokenLayer(ps, p.credentials, {
      profile: p.name,
      fetch: parts.tokenFetch.fetch,
      clock,
      logger: log,
      env,
      fleetObserver: () => parts.fleetObserver(p.name),
      onOutcome: (outcome, oauthError) => { metrics.tokenOutcome(outcome, oauthError, p.name) }
    })
    const profile = { config: p, rules: compileRules(ps, p.credentials.apiKeys, p.name, placeholders(p.name), p.callers), routing: compileRouting(ps.upstreams), cache: cacheFor(parts, p.name, ps) }
    const activity = new Activity(clock.now)
    // issue 22: its callers' shares, on the process's clock, and who called what.
    const limits = new CallerLimits(clock)
    limits.configure(p.callers)
    const callers = new CallerActivity(clock.now, (caller, outcome) => { metrics.callerRequest(p.name, caller, outcome) })
    callers.configure(p.callers?.callers.map((c) => c.name) ?? [])
    const named = callerHooks(log, () => profile.rules.callers !== undefined, callers, (caller) => { metrics.callerShadowRefusal(p.name, caller) })
    const own = parts.hooksFor(p.name)
    const app = await createProxyListener(log, {
      settings: ps,
      rules: () => profile.rules,
      ownSocket: ps.socket,
      forward: forwardOptions(parts, p, tokens, profile, limits, named.wouldRefuse),
      wouldRefuse: named.wouldRefuse,
      ownRoutes: ownRoutesFor(parts, pages, p.name, isDefault),
      // The status page shows each profile its own traffic and errors (issue 25).
      hooks: { ...own, answered: (err, request) => { own.answered?.(err, request); activity.error(errorEntry(err, request)) } },
      localAuth: ps.localAuth ? { profile: p.name, key: parts.placeholderKey, now: clock.now, provider: tokens.provider, discovery: tokens.discovery, identify: parts.identify?.(p.name) ?? (p.callers === undefined ? undefined : identifyCallers(() => profile.rules.callers)) } : undefined,
      requestDone: (r) => {
        observability.requestDone(named.requestDone(r))
        if (routeClass(r.path) !== 'admin') activity.request(r.status, { upstreamCall: r.upstreamMs !== undefined, quota: r.quota })
      }
    })

    return {
      name: p.name,
      port: ps.port,
      app,
      tokens,
      provider: tokens.provider,
      discovery: tokens.discovery,
      get config () { return profile.config },
      activity,
      callers,
      get routing () { return profile.routing },
      get rules () { return profile.rules },
      start: () => { tokens.start() },
      close: () => { tokens.close() },
      reload: (plan) => {
        const next = plan.next
        if (plan.token) {
          tokens.reconfigure(next.settings, next.credentials)
          // Answers kept for the old credentials or hosts are not served for the new ones.
          profile.cache?.clear()
        }
        if (plan.admission) {
          profile.rules = compileRules(next.settings, next.credentials.apiKeys, p.name, placeholders(p.name), next.callers)
          limits.configure(next.callers)
          callers.configure(next.callers?.callers.map((c) => c.name) ?? [])
        }
        if (plan.routing) profile.routing = compileRouting(next.settings.upstreams)
        profile.config = next
      }
    }
  }
}

/** What a profile's forwarding path is built from: the process's shared parts and this profile's own. */
function forwardOptions (parts: ProcessParts, p: Profile, tokens: TokenLayer, profile: { readonly routing: RoutingTable, readonly cache: MicroCache | undefined }, limits: CallerLimits, wouldRefuse: ListenerOptions['forward']['wouldRefuse']): ListenerOptions['forward'] {
  const { metrics, observability } = parts
  const ps = p.settings
  return {
    profile: p.name,
    routing: () => profile.routing,
    provider: tokens.provider,
    discovery: tokens.discovery,
    dispatcher: parts.dispatcher,
    gate: parts.gate,
    bodies: parts.bodies,
    clock: parts.clock,
    upstreamTimeoutMs: ps.upstreamTimeoutMs,
    onUpstream401: () => { metrics.upstream401(p.name) },
    onReplay: () => { metrics.replay(p.name) },
    pace: ps.pace,
    paceMaxWaitMs: ps.paceMaxWaitMs,
    onShieldArmed: observability.shieldArmed,
    onPaceWait: observability.paceWaited,
    coalesce: ps.coalesce,
    cache: profile.cache,
    onCoalesced: () => { metrics.coalesced(p.name) },
    limits,
    wouldRefuse
  }
}

/** The proxy's own pages on a profile's port: all of them on the default's, its own health and readiness on another's. */
function ownRoutesFor (parts: ProcessParts, pages: OwnPages, name: string, isDefault: boolean): (scope: FastifyInstance) => Promise<void> {
  if (!isDefault) return async (scope) => { await scope.register(adminRoutes, { profiles: pages.health, only: name }) }
  return async (scope) => {
    await scope.register(adminRoutes, pages.routes)
    await scope.register(statusRoutes, pages.status)
    await scope.register(quitRoute, { signal: parts.quit, graceMs: parts.s.shutdownGraceMs })
  }
}

/** One micro-cache per profile: its entries never serve another profile's callers. */
function cacheFor (parts: ProcessParts, name: string, ps: Readonly<Settings>): MicroCache | undefined {
  if (ps.cache.length === 0) return undefined
  const { metrics } = parts
  const cache = new MicroCache({
    rules: ps.cache,
    maxBytes: parts.s.cacheMaxBytes,
    clock: parts.clock,
    events: { hit: () => { metrics.cacheLookup('hit', name) }, miss: () => { metrics.cacheLookup('miss', name) }, evicted: () => { metrics.cacheEvicted(name) } }
  })
  metrics.watchCache(name, () => cache.bytes)
  return cache
}

/** A profile's upstream origins as known now: discovered for its token's tenant, else those set by their settings. */
function hostsOf (p: Pick<ProfileComponent, 'provider' | 'discovery'>): Partial<TenantHosts> {
  return p.discovery.knownHosts(p.provider.current()?.tenantId) ?? p.discovery.configuredHosts
}

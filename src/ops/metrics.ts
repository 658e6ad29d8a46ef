import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ERRORS } from '../core/errors.js'
import type { TokenProvider, TokenOutcome } from '../token/token-provider.js'
import { Activity } from './activity.js'
import { InPlaceCounter, InPlaceHistogram, type CountedChild, type ObservedChild } from './in-place.js'

/** The `profile` of requests the admin listener answered: it serves every profile (no profile is named so). */
export const ADMIN_PROFILE = '_admin'
const TOKEN_OUTCOMES: readonly TokenOutcome[] = ['success', 'rejected', 'invalid_response', 'unavailable', 'discovery_failed']
const REJECTIONS = Object.entries(ERRORS).filter(([, spec]) => spec.rejection).map(([code]) => code)
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const FAMILIES = new Set(['skills', 'agents', 'contacts', 'server-time', 'teams', 'users', 'wfm-data', 'media-types', 'business-unit', 'points-of-contact', 'campaigns', 'dispositions', 'lists', 'scripts', 'report-jobs', 'interactions'])
const API_PATH = /^\/inContactAPI\/services\/v\d+\.0\/([^/?]+)/
/** The API families outside /inContactAPI (CXONE.md): their first segment is the class. */
const OTHER_FAMILY = /^\/(dfo|engager|business-data-manager|user-management|authorization|data-extraction|media-playback|rtd)(?:\/|$)/i

/**
 * The route class of a path: a bounded label (never a raw path). API calls are grouped by their
 * resource family, e.g. `api:skills`.
 */
export function routeClass (path: string): string {
  // A poller asks for the same path again and again: its class is the last one's.
  if (path === lastClassified.path) return lastClassified.cls
  const cls = classify(path)
  lastClassified = { path, cls }
  return cls
}
let lastClassified = { path: '', cls: 'api:other' }

function classify (path: string): string {
  if (path.startsWith('/_proxy/')) return 'admin'
  const m = API_PATH.exec(path)
  if (m === null) {
    const other = OTHER_FAMILY.exec(path)
    return other === null ? 'api:other' : `api:${(other[1] as string).toLowerCase()}`
  }
  const family = (m[1] as string).toLowerCase()
  return FAMILIES.has(family) ? `api:${family}` : 'api:other'
}

/** A profile as the metrics see it: its name, token and the upstreams its routing table can send to. */
export interface MetricsProfile { name: string, provider: TokenProvider, upstreams?: readonly string[] }

export class Metrics {
  readonly registry = new Registry()
  /** Recent traffic and errors for the status page (bounded, in memory). */
  readonly activity: Activity
  readonly #requests: InPlaceCounter
  readonly #upstream: InPlaceHistogram
  readonly #tokenRequests: Counter<'profile' | 'outcome' | 'oauth_error'>
  readonly #upstream401: Counter<'profile'>
  readonly #replays: Counter<'profile'>
  readonly #rejected: Counter<'profile' | 'reason'>
  readonly #reloads: Counter<'outcome'>
  readonly #shieldArmed: Counter<'profile' | 'upstream'>
  readonly #paceWait: Histogram<'profile' | 'rule' | 'outcome'>
  readonly #coalesced: Counter<'profile'>
  readonly #cacheRequests: Counter<'profile' | 'result'>
  readonly #cacheEvictions: Counter<'profile'>
  readonly #cacheSizes = new Map<string, Array<() => number>>()
  readonly #profiles: () => readonly MetricsProfile[]
  readonly #initialised = new Set<string>()
  // Label children bound once per label set, counted in place (one Map lookup per request).
  readonly #requestChildren = new Map<string, CountedChild>()
  readonly #upstreamChildren = new Map<string, ObservedChild>()
  /** The children of the last request that went upstream, with its labels (see request()). */
  #lastRequest: { profile: string, upstream: string, method: string, cls: string, status: number, counter: CountedChild, histogram: ObservedChild } | undefined
  readonly #callerRequests: InPlaceCounter
  readonly #callerShadow: InPlaceCounter
  readonly #callerChildren = new Map<string, CountedChild>()

  /** `profiles`: each business unit, the default one first (one label value each). */
  constructor (profiles: TokenProvider | (() => readonly MetricsProfile[]), now: () => number = Date.now) {
    this.activity = new Activity(now)
    const r = this.registry
    const providers = typeof profiles === 'function' ? profiles : () => [{ name: 'default', provider: profiles }]
    this.#profiles = providers
    // Each token gauge has one sample per profile.
    const perProfile = (g: Gauge<'profile'>, value: (p: TokenProvider) => number): void => {
      g.reset()
      for (const { name, provider } of providers()) g.set({ profile: name }, value(provider))
    }
    // prom-client's own names (process_*, nodejs_*), as stock Node.js dashboards query them.
    collectDefaultMetrics({ register: r })
    this.#requests = new InPlaceCounter('cxone_proxy_requests_total', 'Requests answered, by profile (_admin: the admin listener), upstream (none: answered by the proxy before routing), method, route class and status', ['profile', 'upstream', 'method', 'route_class', 'status'], r)
    this.#upstream = new InPlaceHistogram('cxone_proxy_upstream_duration_seconds', 'Time from forwarding to the upstream response headers, by profile, upstream and route class', ['profile', 'upstream', 'route_class'], UPSTREAM_BUCKETS, r)
    this.#callerRequests = new InPlaceCounter('cxone_proxy_caller_requests_total', 'Requests of profiles with named callers, by profile, caller (_unidentified: none recognised) and outcome (upstream, cache, coalesced, refused, rate_limited, other)', ['profile', 'caller', 'outcome'], r)
    this.#callerShadow = new InPlaceCounter('cxone_proxy_caller_shadow_refusals_total', 'Refusals a caller\'s policy or share would have made in shadow mode ("enforce": false), and did not, by profile and caller', ['profile', 'caller'], r)
    this.#tokenRequests = new Counter({ name: 'cxone_proxy_token_requests_total', help: 'Token requests, by profile, outcome and OAuth error code', labelNames: ['profile', 'outcome', 'oauth_error'], registers: [r] })
    this.#upstream401 = new Counter({ name: 'cxone_proxy_upstream_401_total', help: 'Upstream 401 answers that invalidated the token and triggered a refresh, by profile', labelNames: ['profile'], registers: [r] })
    this.#replays = new Counter({ name: 'cxone_proxy_replays_total', help: 'Requests replayed once with a new token after an upstream 401, by profile', labelNames: ['profile'], registers: [r] })
    this.#reloads = new Counter({ name: 'cxone_proxy_config_reloads_total', help: 'Configuration reloads, by outcome (applied, unchanged, failed)', labelNames: ['outcome'], registers: [r] })
    this.#shieldArmed = new Counter({ name: 'cxone_proxy_shield_armed_total', help: 'Upstream 429 answers with Retry-After that armed (or extended) the 429 shield of an API family', labelNames: ['profile', 'upstream'], registers: [r] })
    this.#paceWait = new Histogram({ name: 'cxone_proxy_pace_wait_seconds', help: 'Time requests of a paced route waited in its queue, by rule and outcome (started, too_busy, left)', labelNames: ['profile', 'rule', 'outcome'], buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600], registers: [r] })
    this.#rejected = new Counter({ name: 'cxone_proxy_rejected_total', help: 'Requests refused by the proxy, by profile (_admin: the admin listener) and error code (limits, access rules)', labelNames: ['profile', 'reason'], registers: [r] })
    this.#coalesced = new Counter({ name: 'cxone_proxy_coalesced_total', help: 'Requests answered by an identical request\'s upstream call in flight (coalesced followers), by profile', labelNames: ['profile'], registers: [r] })
    this.#cacheRequests = new Counter({ name: 'cxone_proxy_cache_requests_total', help: 'Micro-cache lookups of cached routes, by profile and result (hit, miss)', labelNames: ['profile', 'result'], registers: [r] })
    this.#cacheEvictions = new Counter({ name: 'cxone_proxy_cache_evictions_total', help: 'Micro-cache entries evicted before they expired, to stay within PROXY_CACHE_MAX_BYTES, by profile', labelNames: ['profile'], registers: [r] })
    const cacheSizes = this.#cacheSizes
    new Gauge({
      name: 'cxone_proxy_cache_bytes',
      help: 'Bytes held by the micro-cache (bodies plus a fixed overhead per entry), by profile; PROXY_CACHE_MAX_BYTES bounds their sum',
      labelNames: ['profile'],
      registers: [r],
      collect () {
        this.reset()
        for (const [profile, sizes] of cacheSizes) this.set({ profile }, sizes.reduce((sum, size) => sum + size(), 0))
      }
    })
    new Gauge({
      name: 'cxone_proxy_token_expires_in_seconds',
      help: 'Seconds until the current token expires (0 when none is held), by profile',
      labelNames: ['profile'],
      registers: [r],
      collect () { perProfile(this, (p) => p.status().expiresInSec ?? 0) }
    })
    new Gauge({
      name: 'cxone_proxy_token_age_seconds',
      help: 'Seconds since the current token was obtained (0 when none is held), by profile',
      labelNames: ['profile'],
      registers: [r],
      collect () { perProfile(this, (p) => p.status().ageSec ?? 0) }
    })
    new Gauge({
      name: 'cxone_proxy_token_valid',
      help: '1 while a valid token is held, else 0, by profile',
      labelNames: ['profile'],
      registers: [r],
      collect () { perProfile(this, (p) => p.status().ready ? 1 : 0) }
    })
    for (const outcome of ['applied', 'unchanged', 'failed']) this.#reloads.inc({ outcome }, 0)
  }

  /** Every counter with a known label set starts at 0 for each profile, so a rate or an alert has a series before the first event. */
  #initialise (): void {
    for (const p of this.#profiles()) {
      if (this.#initialised.has(p.name)) continue
      this.#initialised.add(p.name)
      const profile = p.name
      for (const outcome of TOKEN_OUTCOMES) this.#tokenRequests.inc({ profile, outcome, oauth_error: 'none' }, 0)
      for (const c of [this.#upstream401, this.#replays, this.#coalesced, this.#cacheEvictions]) c.inc({ profile }, 0)
      for (const result of ['hit', 'miss']) this.#cacheRequests.inc({ profile, result }, 0)
      for (const reason of REJECTIONS) this.#rejected.inc({ profile, reason }, 0)
      for (const upstream of p.upstreams ?? []) this.#shieldArmed.inc({ profile, upstream }, 0)
    }
  }

  /** `profile` and `upstream` are bounded by the configuration (profile names, the routing table's upstreams). */
  request (method: string, routeClassLabel: string, status: number, upstreamMs: number | undefined, upstream = 'none', profile = 'default'): void {
    const last = this.#lastRequest
    if (last !== undefined && last.status === status && last.method === method && last.cls === routeClassLabel && last.upstream === upstream && last.profile === profile) {
      last.counter.value++
      if (upstreamMs !== undefined) last.histogram.observe(upstreamMs / 1000)
      return
    }
    this.#lastRequest = undefined
    const key = `${profile} ${upstream} ${method} ${routeClassLabel} ${status}`
    let counter = this.#requestChildren.get(key)
    if (counter === undefined) {
      counter = this.#requests.child(profile, upstream, METHODS.has(method) ? method : 'OTHER', routeClassLabel, String(status))
      this.#requestChildren.set(key, counter)
    }
    counter.value++
    if (upstreamMs !== undefined) {
      const hkey = `${profile} ${upstream} ${routeClassLabel}`
      let histogram = this.#upstreamChildren.get(hkey)
      if (histogram === undefined) {
        histogram = this.#upstream.child(profile, upstream, routeClassLabel)
        this.#upstreamChildren.set(hkey, histogram)
      }
      histogram.observe(upstreamMs / 1000)
      // Most requests have the labels of the one before: the next one like it finds both children here.
      this.#lastRequest = { profile, upstream, method, cls: routeClassLabel, status, counter, histogram }
    }
  }

  /** `caller` is a configured caller's name or _unidentified, never anything a request sent. */
  callerRequest (profile: string, caller: string, outcome: string): void {
    this.#callerChild(this.#callerRequests, `r ${profile} ${caller} ${outcome}`, [profile, caller, outcome]).value++
  }

  callerShadowRefusal (profile: string, caller: string): void {
    this.#callerChild(this.#callerShadow, `s ${profile} ${caller}`, [profile, caller]).value++
  }

  #callerChild (family: InPlaceCounter, key: string, labels: string[]): CountedChild {
    let child = this.#callerChildren.get(key)
    if (child === undefined) {
      child = family.child(...labels)
      this.#callerChildren.set(key, child)
    }
    return child
  }

  tokenOutcome (outcome: TokenOutcome, oauthError: string | undefined, profile = 'default'): void {
    this.#tokenRequests.inc({ profile, outcome, oauth_error: oauthError !== undefined && /^[a-z_]{1,40}$/.test(oauthError) ? oauthError : 'none' })
  }

  upstream401 (profile = 'default'): void {
    this.#upstream401.inc({ profile })
  }

  replay (profile = 'default'): void {
    this.#replays.inc({ profile })
  }

  reload (outcome: 'applied' | 'unchanged' | 'failed'): void {
    this.#reloads.inc({ outcome })
  }

  /** Labels are bounded: profiles and upstreams are configured, never taken from a request. */
  shieldArmed (profile: string, upstream: string): void {
    this.#shieldArmed.inc({ profile, upstream })
  }

  /** `rule` is a configured pace rule, never a request's path. */
  paceWait (profile: string, rule: string, outcome: string, seconds: number): void {
    this.#paceWait.observe({ profile, rule, outcome }, seconds)
  }

  coalesced (profile = 'default'): void {
    this.#coalesced.inc({ profile })
  }

  cacheLookup (result: 'hit' | 'miss', profile = 'default'): void {
    this.#cacheRequests.inc({ profile, result })
  }

  cacheEvicted (profile = 'default'): void {
    this.#cacheEvictions.inc({ profile })
  }

  /** Adds a profile's micro-cache to cxone_proxy_cache_bytes{profile}. */
  watchCache (profile: string, bytes: () => number): void {
    const sizes = this.#cacheSizes.get(profile) ?? []
    sizes.push(bytes)
    this.#cacheSizes.set(profile, sizes)
  }

  rejected (code: string, profile = 'default'): void {
    this.#rejected.inc({ profile, reason: code })
  }

  async text (): Promise<string> {
    this.#initialise()
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}

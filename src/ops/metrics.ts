import { LRUCache } from 'lru-cache'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { TokenProvider, TokenOutcome } from '../token/token-provider.js'
import { Activity } from './activity.js'

/** Cached label children at most: methods × route classes × status codes seen. */
const LABEL_CHILDREN_MAX = 4096
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const FAMILIES = new Set(['skills', 'agents', 'contacts', 'server-time', 'teams', 'users', 'wfm-data', 'media-types', 'business-unit', 'points-of-contact', 'campaigns', 'dispositions', 'lists', 'scripts', 'report-jobs', 'interactions'])
const API_PATH = /^\/inContactAPI\/services\/v\d+\.0\/([^/?]+)/

/**
 * The route class of a path: a bounded label (never a raw path). API calls are grouped by their
 * resource family, e.g. `api:skills`.
 */
export function routeClass (path: string): string {
  if (path.startsWith('/_proxy/')) return 'admin'
  const m = API_PATH.exec(path)
  if (m === null) return 'api:other'
  const family = (m[1] as string).toLowerCase()
  return FAMILIES.has(family) ? `api:${family}` : 'api:other'
}

export class Metrics {
  readonly registry = new Registry()
  /** Recent traffic and errors for the status page (bounded, in memory). */
  readonly activity: Activity
  readonly #requests: Counter<'method' | 'route_class' | 'status'>
  readonly #upstream: Histogram<'route_class'>
  readonly #tokenRequests: Counter<'outcome' | 'oauth_error'>
  readonly #upstream401: Counter
  readonly #replays: Counter
  readonly #rejected: Counter<'reason'>
  readonly #reloads: Counter<'outcome'>
  readonly #coalesced: Counter
  readonly #cacheRequests: Counter<'result'>
  readonly #cacheEvictions: Counter
  readonly #cacheSizes: Array<() => number> = []
  // Label children, cached: prom-client would otherwise hash the label object on every call.
  readonly #requestChildren = new LRUCache<string, { inc: () => void }>({ max: LABEL_CHILDREN_MAX })
  readonly #upstreamChildren = new LRUCache<string, { observe: (v: number) => void }>({ max: LABEL_CHILDREN_MAX })

  constructor (provider: TokenProvider | (() => TokenProvider), now: () => number = Date.now) {
    this.activity = new Activity(now)
    const r = this.registry
    const getProvider = typeof provider === 'function' ? provider : () => provider
    collectDefaultMetrics({ register: r, prefix: 'cxone_proxy_' })
    this.#requests = new Counter({ name: 'cxone_proxy_requests_total', help: 'Requests answered, by method, route class and status', labelNames: ['method', 'route_class', 'status'], registers: [r] })
    this.#upstream = new Histogram({ name: 'cxone_proxy_upstream_duration_seconds', help: 'Time from forwarding to the upstream response headers', labelNames: ['route_class'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [r] })
    this.#tokenRequests = new Counter({ name: 'cxone_proxy_token_requests_total', help: 'Token requests, by outcome and OAuth error code', labelNames: ['outcome', 'oauth_error'], registers: [r] })
    this.#upstream401 = new Counter({ name: 'cxone_proxy_upstream_401_total', help: 'Upstream 401 answers that invalidated the token and triggered a refresh', registers: [r] })
    this.#replays = new Counter({ name: 'cxone_proxy_replays_total', help: 'Requests replayed once with a new token after an upstream 401', registers: [r] })
    this.#reloads = new Counter({ name: 'cxone_proxy_config_reloads_total', help: 'Configuration reloads, by outcome (applied, unchanged, failed)', labelNames: ['outcome'], registers: [r] })
    this.#rejected = new Counter({ name: 'cxone_proxy_rejected_total', help: 'Requests refused by the proxy, by error code (limits, access rules)', labelNames: ['reason'], registers: [r] })
    this.#coalesced = new Counter({ name: 'cxone_proxy_coalesced_total', help: 'Requests answered by an identical request\'s upstream call in flight (coalesced followers)', registers: [r] })
    this.#cacheRequests = new Counter({ name: 'cxone_proxy_cache_requests_total', help: 'Micro-cache lookups of cached routes, by result (hit, miss)', labelNames: ['result'], registers: [r] })
    this.#cacheEvictions = new Counter({ name: 'cxone_proxy_cache_evictions_total', help: 'Micro-cache entries evicted before they expired, to stay within PROXY_CACHE_MAX_BYTES', registers: [r] })
    const cacheSizes = this.#cacheSizes
    new Gauge({
      name: 'cxone_proxy_cache_bytes',
      help: 'Bytes held by the micro-cache (bodies plus a fixed overhead per entry)',
      registers: [r],
      collect () { this.set(cacheSizes.reduce((sum, size) => sum + size(), 0)) }
    })
    new Gauge({
      name: 'cxone_proxy_token_expires_in_seconds',
      help: 'Seconds until the current token expires (0 when none is held)',
      registers: [r],
      collect () { this.set(getProvider().status().expiresInSec ?? 0) }
    })
    new Gauge({
      name: 'cxone_proxy_token_age_seconds',
      help: 'Seconds since the current token was obtained (0 when none is held)',
      registers: [r],
      collect () { this.set(getProvider().status().ageSec ?? 0) }
    })
    new Gauge({
      name: 'cxone_proxy_token_valid',
      help: '1 while a valid token is held, else 0',
      registers: [r],
      collect () { this.set(getProvider().status().ready ? 1 : 0) }
    })
  }

  request (method: string, routeClassLabel: string, status: number, upstreamMs: number | undefined): void {
    // Label children are cached: prom-client would otherwise hash the label object on every call.
    const key = `${method} ${routeClassLabel} ${status}`
    let counter = this.#requestChildren.get(key)
    if (counter === undefined) {
      counter = this.#requests.labels(METHODS.has(method) ? method : 'OTHER', routeClassLabel, String(status))
      this.#requestChildren.set(key, counter)
    }
    counter.inc()
    if (upstreamMs !== undefined) {
      let histogram = this.#upstreamChildren.get(routeClassLabel)
      if (histogram === undefined) {
        histogram = this.#upstream.labels(routeClassLabel)
        this.#upstreamChildren.set(routeClassLabel, histogram)
      }
      histogram.observe(upstreamMs / 1000)
    }
  }

  tokenOutcome (outcome: TokenOutcome, oauthError: string | undefined): void {
    this.#tokenRequests.inc({ outcome, oauth_error: oauthError !== undefined && /^[a-z_]{1,40}$/.test(oauthError) ? oauthError : 'none' })
  }

  upstream401 (): void {
    this.#upstream401.inc()
  }

  replay (): void {
    this.#replays.inc()
  }

  reload (outcome: 'applied' | 'unchanged' | 'failed'): void {
    this.#reloads.inc({ outcome })
  }

  coalesced (): void {
    this.#coalesced.inc()
  }

  cacheLookup (result: 'hit' | 'miss'): void {
    this.#cacheRequests.inc({ result })
  }

  cacheEvicted (): void {
    this.#cacheEvictions.inc()
  }

  /** Adds a micro-cache's size to cxone_proxy_cache_bytes (one per profile). */
  watchCache (bytes: () => number): void {
    this.#cacheSizes.push(bytes)
  }

  rejected (code: string): void {
    this.#rejected.inc({ reason: code })
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}

/**
 * The operator's micro-cache: 200 answers of the routes named in the config file's "cache" rules, kept for each
 * rule's `ttlMs`, bounded in bytes (PROXY_CACHE_MAX_BYTES) by lru-cache. One per forwarder, so per profile; its
 * keys name the upstream and the tenant of the token, so no answer crosses profiles, upstreams or tenants.
 * `Age` and `Cache-Status` (RFC 9211) say what a caller got.
 */
import { LRUCache } from 'lru-cache'
import type { CacheRule } from '../core/config.js'
import type { Clock } from '../core/clock.js'
import { compileRoute, serverView } from '../core/paths.js'
import type { IncomingHttpHeaders } from 'node:http'
import type { WholeResponse } from './coalesce.js'
import { varyOf, varyValues } from './vary.js'

/** RFC 9211 §2: the cache's name in Cache-Status. */
export const CACHE_NAME = 'cxone-auth-proxy'
/**
 * Bytes counted for an entry besides what it measures (its key, header names and values, Vary values and body,
 * each string at two bytes a character): the objects that hold them, lru-cache's slot, roughly.
 */
export const ENTRY_OVERHEAD_BYTES = 512
const NO_STORE = /(?:^|,)\s*no-store\s*(?:,|$)/i
/** What a rule with `respectCacheControl` does not store: the API says the answer is not fresh, or not shared. */
const NOT_FRESH = /(?:^|,)\s*(?:(?:private|no-cache)(?:\s*=\s*"[^"]*")?|(?:s-maxage|max-age)\s*=\s*"?0+"?)\s*(?:,|$)/i

/** What the rule that matched a read says. */
export interface CacheRuleView {
  readonly ttlMs: number
  readonly respectCacheControl: boolean
}

export interface CacheEvents {
  hit?: () => void
  miss?: () => void
  /** An entry pushed out to keep within the byte bound (not one that merely expired). */
  evicted?: () => void
}

export interface MicroCacheOptions {
  rules: readonly CacheRule[]
  maxBytes: number
  /** The clock of the TTLs (its wall time). */
  clock: Clock
  events?: CacheEvents
}

interface Entry {
  readonly response: WholeResponse
  readonly storedAt: number
  readonly ttlMs: number
  /** The header names the answer's Vary lists, and the stored request's values of them. */
  readonly vary: readonly string[]
  readonly varied: string
  /** What it holds, as counted against the bound (key included). */
  readonly size: number
  /** The API marked it private, no-cache or max-age=0, and the rule's TTL overrode that. */
  readonly overrode: boolean
}

export class MicroCache {
  readonly #rules: ReadonlyArray<{ match: (method: string, path: string) => boolean, view: CacheRuleView }>
  readonly #entries: LRUCache<string, Entry>
  readonly #now: () => number
  readonly #events: CacheEvents

  constructor (o: MicroCacheOptions) {
    if (!(o.maxBytes >= 0)) throw new TypeError('MicroCache needs maxBytes ≥ 0')
    this.#rules = o.rules.map((rule) => ({ match: compileRoute(rule), view: { ttlMs: rule.ttlMs, respectCacheControl: rule.respectCacheControl === true } }))
    this.#now = o.clock.now
    this.#events = o.events ?? {}
    this.#entries = new LRUCache<string, Entry>({
      // lru-cache needs a positive bound; 0 bytes means nothing is ever stored (maxEntrySize below).
      maxSize: Math.max(1, o.maxBytes),
      maxEntrySize: Math.max(1, o.maxBytes),
      sizeCalculation: (e) => e.size,
      ttlAutopurge: false,
      perf: { now: o.clock.now },
      dispose: (_e, _k, reason) => { if (reason === 'evict') this.#events.evicted?.() }
    })
  }

  /** The first rule that matches, on the path a server could act on (as the route allow-list). */
  ruleFor (method: string, path: string): CacheRuleView | undefined {
    if (this.#rules.length === 0) return undefined
    const view = serverView(path)
    if (view === undefined) return undefined
    for (const rule of this.#rules) if (rule.match(method, view)) return rule.view
    return undefined
  }

  /** The TTL of the first rule that matches. */
  ttlFor (method: string, path: string): number | undefined {
    return this.ruleFor(method, path)?.ttlMs
  }

  /**
   * A fresh answer for `key` whose Vary'd request headers match `request`'s (RFC 9111 §4.1), with its age in seconds
   * and whether the rule's TTL overrode the API's Cache-Control; counts a hit or a miss.
   */
  get (key: string, request: IncomingHttpHeaders = {}): { response: WholeResponse, ageSec: number, ttlLeftSec: number, overrode: boolean } | undefined {
    const e = this.#entries.get(key)
    if (e === undefined || (e.vary.length > 0 && varyValues(e.vary, request) !== e.varied)) {
      this.#events.miss?.()
      return undefined
    }
    this.#events.hit?.()
    const ageMs = Math.max(0, this.#now() - e.storedAt)
    return { response: e.response, ageSec: Math.floor(ageMs / 1000), ttlLeftSec: Math.max(0, e.ttlMs - ageMs) / 1000, overrode: e.overrode }
  }

  /**
   * Stores a whole response if it may be cached (`storable`), answered to a request with headers `request`; counted
   * by what it holds, key included, so that long URLs cannot take the cache past its bound (issue 24 #2).
   */
  set (key: string, response: WholeResponse, rule: CacheRuleView, request: IncomingHttpHeaders = {}): boolean {
    const vary = varyOf(response.headers)
    if (vary === '*' || !MicroCache.storable(response)) return false
    const overrode = overridesCacheControl(response)
    if (overrode && rule.respectCacheControl) return false
    const varied = varyValues(vary, request)
    const size = entrySize(key, response, varied)
    if (size > this.#entries.maxEntrySize) return false
    // A body may be a slice of a larger buffer (the socket read it came in): the entry keeps only its own bytes.
    const own = response.body.byteLength === response.body.buffer.byteLength ? response : { ...response, body: Buffer.from(Uint8Array.prototype.slice.call(response.body)) }
    this.#entries.set(key, { response: own, storedAt: this.#now(), ttlMs: rule.ttlMs, vary, varied, size, overrode }, { ttl: rule.ttlMs })
    return this.#entries.has(key)
  }

  /** A 200 without `Cache-Control: no-store` or `Set-Cookie`. */
  static storable (response: WholeResponse): boolean {
    if (response.statusCode !== 200 || response.headers['set-cookie'] !== undefined) return false
    return !NO_STORE.test(cacheControl(response))
  }

  /** Forgets every entry (new credentials or endpoints: what was kept may belong to another tenant). */
  clear (): void {
    this.#entries.clear()
  }

  /** Bytes held, as counted: keys, headers and bodies, plus a fixed overhead per entry. */
  get bytes (): number {
    return this.#entries.calculatedSize
  }
}

/** What an entry holds: each string at two bytes a character (V8 may keep it at one), its body, the overhead. */
export function entrySize (key: string, response: WholeResponse, varied: string): number {
  let strings = key.length + varied.length
  for (const [name, value] of Object.entries(response.headers)) {
    strings += name.length
    if (Array.isArray(value)) for (const v of value) strings += v.length
    else if (value !== undefined) strings += value.length
  }
  return 2 * strings + response.body.byteLength + ENTRY_OVERHEAD_BYTES
}

/** The API marked the answer private, no-cache or max-age=0: a rule's TTL that stores it overrides that. */
export function overridesCacheControl (response: WholeResponse): boolean {
  return NOT_FRESH.test(cacheControl(response))
}

function cacheControl (response: WholeResponse): string {
  const cc = response.headers['cache-control']
  return Array.isArray(cc) ? cc.join(',') : cc ?? ''
}

/**
 * Cache-Status for an answer served from the cache (RFC 9211 §2.1 `hit`; §2.4 `ttl` is an Integer of seconds);
 * `detail` (§2.8) says when the rule's TTL overrode the API's Cache-Control (private, no-cache, max-age=0).
 */
export function cacheHitStatus (ttlLeftSec: number, overrode = false): string {
  return `${CACHE_NAME}; hit; ttl=${Math.floor(ttlLeftSec)}${overrode ? OVERRODE : ''}`
}

/** RFC 9211 §2.8 `detail`: the operator's rule kept an answer its Cache-Control said not to reuse. */
const OVERRODE = '; detail=ttl-rule-overrides-cache-control'

/**
 * Cache-Status for a forwarded answer of a cached route (§2.2 `fwd=miss`, §2.6 `stored`), `collapsed` (§2.7) when
 * this caller shared another's call.
 */
export function cacheMissStatus (stored: boolean, collapsed: boolean, overrode = false): string {
  return `${CACHE_NAME}; fwd=miss${stored ? '; stored' : ''}${collapsed ? '; collapsed' : ''}${stored && overrode ? OVERRODE : ''}`
}

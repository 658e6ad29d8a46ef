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
import type { WholeResponse } from './coalesce.js'

/** RFC 9211 §2: the cache's name in Cache-Status. */
export const CACHE_NAME = 'cxone-auth-proxy'
/** Bytes counted for an entry besides its body: its headers and key, roughly. */
const ENTRY_OVERHEAD_BYTES = 512
const NO_STORE = /(?:^|,)\s*no-store\s*(?:,|$)/i

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
}

export class MicroCache {
  readonly #rules: ReadonlyArray<{ match: (method: string, path: string) => boolean, ttlMs: number }>
  readonly #entries: LRUCache<string, Entry>
  readonly #now: () => number
  readonly #events: CacheEvents

  constructor (o: MicroCacheOptions) {
    if (!(o.maxBytes >= 0)) throw new TypeError('MicroCache needs maxBytes ≥ 0')
    this.#rules = o.rules.map((rule) => ({ match: compileRoute(rule), ttlMs: rule.ttlMs }))
    this.#now = o.clock.now
    this.#events = o.events ?? {}
    this.#entries = new LRUCache<string, Entry>({
      // lru-cache needs a positive bound; 0 bytes means nothing is ever stored (maxEntrySize below).
      maxSize: Math.max(1, o.maxBytes),
      maxEntrySize: Math.max(1, o.maxBytes),
      sizeCalculation: (e) => e.response.body.length + ENTRY_OVERHEAD_BYTES,
      ttlAutopurge: false,
      perf: { now: o.clock.now },
      dispose: (_e, _k, reason) => { if (reason === 'evict') this.#events.evicted?.() }
    })
  }

  /** The TTL of the first rule that matches, on the path a server could act on (as the route allow-list). */
  ttlFor (method: string, path: string): number | undefined {
    if (this.#rules.length === 0) return undefined
    const view = serverView(path)
    if (view === undefined) return undefined
    for (const rule of this.#rules) if (rule.match(method, view)) return rule.ttlMs
    return undefined
  }

  /** A fresh answer for `key`, with its age in seconds; counts a hit or a miss. */
  get (key: string): { response: WholeResponse, ageSec: number, ttlLeftSec: number } | undefined {
    const e = this.#entries.get(key)
    if (e === undefined) {
      this.#events.miss?.()
      return undefined
    }
    this.#events.hit?.()
    const ageMs = Math.max(0, this.#now() - e.storedAt)
    return { response: e.response, ageSec: Math.floor(ageMs / 1000), ttlLeftSec: Math.max(0, e.ttlMs - ageMs) / 1000 }
  }

  /** Stores a whole response if it may be cached: a 200 without `Cache-Control: no-store` or `Set-Cookie`. */
  set (key: string, response: WholeResponse, ttlMs: number): boolean {
    if (!MicroCache.storable(response)) return false
    const size = response.body.length + ENTRY_OVERHEAD_BYTES
    if (size > this.#entries.maxEntrySize) return false
    this.#entries.set(key, { response, storedAt: this.#now(), ttlMs }, { ttl: ttlMs })
    return this.#entries.has(key)
  }

  static storable (response: WholeResponse): boolean {
    if (response.statusCode !== 200 || response.headers['set-cookie'] !== undefined) return false
    const cc = response.headers['cache-control']
    const directives = Array.isArray(cc) ? cc.join(',') : cc ?? ''
    return !NO_STORE.test(directives)
  }

  /** Forgets every entry (new credentials or endpoints: what was kept may belong to another tenant). */
  clear (): void {
    this.#entries.clear()
  }

  /** Bytes held (bodies plus a fixed overhead per entry). */
  get bytes (): number {
    return this.#entries.calculatedSize
  }
}

/** Cache-Status for an answer served from the cache (RFC 9211 §2.1 `hit`; §2.4 `ttl` is an Integer of seconds). */
export function cacheHitStatus (ttlLeftSec: number): string {
  return `${CACHE_NAME}; hit; ttl=${Math.floor(ttlLeftSec)}`
}

/**
 * Cache-Status for a forwarded answer of a cached route (§2.2 `fwd=miss`, §2.6 `stored`), `collapsed` (§2.7) when
 * this caller shared another's call.
 */
export function cacheMissStatus (stored: boolean, collapsed: boolean): string {
  return `${CACHE_NAME}; fwd=miss${stored ? '; stored' : ''}${collapsed ? '; collapsed' : ''}`
}

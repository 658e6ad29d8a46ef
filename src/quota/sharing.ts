/**
 * Sharing: whether a read needs a call of its own. Before anything else is taken for it, a read is answered from
 * the micro-cache (`hit`), joins the same read in flight (`join`), leads a flight of its own (`lead`) or is not
 * shareable (`alone`). The forwarding path acts on the decision; nothing here calls back into it. A flight's
 * outcome reaches each member through its `Member.outcome`.
 *
 * `C` is what the forwarding path keeps of the call that got a response (its context): sharing carries it to the
 * members without reading it.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { TokenProvider } from '../token/token-provider.js'
import type { TokenSet } from '../token/token-client.js'
import { pathOf } from '../core/paths.js'
import { Coalescer, Member, shareable, shareKey, type Flight, type Outcome, type WholeResponse } from './coalesce.js'
import { cacheHitStatus, cacheMissStatus, type MicroCache } from './micro-cache.js'

/** What a flight's members get: the response read whole, the context of the call that got it, whether it was cached. */
export interface Shared<C> {
  readonly response: WholeResponse
  readonly ctx: C
  readonly stored: boolean
}

/** A read that may be shared or cached: its key, and the flight it leads or joined. */
export interface Share<C> {
  readonly key: string
  /** The TTL of the cache rule its route matches, if any. */
  readonly cacheTtlMs: number | undefined
  readonly flight: Flight<Shared<C>>
  readonly member: Member<Shared<C>>
  readonly leads: boolean
}

type ShareDecision<C> =
  | { readonly kind: 'alone' }
  | { readonly kind: 'hit', readonly response: WholeResponse, readonly token: TokenSet, readonly extra: Record<string, string> }
  | { readonly kind: 'join' | 'lead', readonly share: Share<C> }

/** How the leader's response body was read: whole (shared), too large (its stream, for the leader), or broken. */
type Collected =
  | { readonly kind: 'whole', readonly body: Buffer }
  | { readonly kind: 'rest', readonly rest: Readable }
  | { readonly kind: 'broken', readonly error: Error | null }

interface SharingOptions {
  /** Identical reads in flight share one call (PROXY_COALESCE). */
  coalesce: boolean
  cache: MicroCache | undefined
  provider: TokenProvider
}

const ALONE = { kind: 'alone' } as const

export class Sharing<C> {
  readonly #o: SharingOptions
  readonly #coalescer: Coalescer<Shared<C>>

  constructor (o: SharingOptions) {
    this.#o = o
    this.#coalescer = new Coalescer<Shared<C>>({ enabled: o.coalesce })
  }

  /**
   * Before the quota and the gate: a cache hit, a flight joined or led, or alone. `url` is the raw target,
   * `upstream` the one the routing table chose.
   */
  decide (method: string, url: string, headers: IncomingHttpHeaders, upstream: string): ShareDecision<C> {
    const { cache, provider } = this.#o
    if (!shareable(method, headers)) return ALONE
    const cacheTtlMs = cache?.ttlFor(method, pathOf(url))
    if (!this.#coalescer.enabled && cacheTtlMs === undefined) return ALONE
    const key = shareKey(upstream, method, url, headers)
    if (cache !== undefined && cacheTtlMs !== undefined) {
      const token = provider.current()
      const hit = token === undefined ? undefined : cache.get(cacheKey(key, token.tenantId))
      if (token !== undefined && hit !== undefined) {
        const age = Number(hit.response.headers.age ?? 0)
        const extra = { age: String((Number.isFinite(age) ? age : 0) + hit.ageSec), 'cache-status': cacheHitStatus(hit.ttlLeftSec) }
        return { kind: 'hit', response: hit.response, token, extra }
      }
    }
    const joined = this.#coalescer.find(key)
    const flight = joined ?? this.#coalescer.start(key)
    const member = new Member<Shared<C>>()
    flight.join(member)
    return { kind: joined === undefined ? 'lead' : 'join', share: { key, cacheTtlMs, flight, member, leads: joined === undefined } }
  }

  /** Reads the leader's response body whole when it fits the bounds; a bodiless one is whole at once. */
  collect (body: Readable, declaredLength: number, done: (c: Collected) => void): void {
    this.#coalescer.read(body, declaredLength, (err, r) => {
      if (err !== null || r === undefined) done({ kind: 'broken', error: err })
      else if ('rest' in r) done({ kind: 'rest', rest: r.rest })
      else done({ kind: 'whole', body: r.whole })
    })
  }

  /** The leader's response read whole: stored if its route is cached, and handed to every member. */
  share (s: Share<C>, response: WholeResponse, ctx: C, tenantId: string | undefined): void {
    const cache = this.#o.cache
    const stored = cache !== undefined && s.cacheTtlMs !== undefined && cache.set(cacheKey(s.key, tenantId), response, s.cacheTtlMs)
    s.flight.end({ kind: 'response', response: { response, ctx, stored } })
    this.#coalescer.release(response.body.length)
  }

  /** Ends the flight for every member still in it, except `except` (answered otherwise). */
  end (s: Share<C>, outcome: Outcome<Shared<C>>, except?: Member<Shared<C>>): void {
    s.flight.end(outcome, except)
  }

  /** The Cache-Status of a forwarded response of a cached route, for one member; none for other routes. */
  missHeaders (s: Share<C>, stored: boolean): Record<string, string> | undefined {
    return s.cacheTtlMs === undefined ? undefined : { 'cache-status': cacheMissStatus(stored, !s.leads) }
  }
}

/** The cache's key: the read's, and the tenant of the token, so a token of another tenant never sees it. */
function cacheKey (readKey: string, tenantId: string | undefined): string {
  return `${readKey}\n${tenantId ?? ''}`
}

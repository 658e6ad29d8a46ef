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
import { cacheHitStatus, cacheMissStatus, overridesCacheControl, type CacheRuleView, type MicroCache } from './micro-cache.js'
import { varyMatches, varyOf, withoutSetCookie } from './vary.js'

/** What a flight's members get: the response read whole, the context of the call that got it, whether it was cached. */
export interface Shared<C> {
  readonly response: WholeResponse
  readonly ctx: C
  readonly stored: boolean
  /** Stored although the API's Cache-Control said not to reuse it: the rule's TTL overrode it. */
  readonly overrode: boolean
}

/** RFC 9111 §1.2.2: an Age past what delta-seconds can hold is taken as 2^31. */
const AGE_MAX = 2 ** 31

/** A read that may be shared or cached: its key, and the flight it leads or joined. */
export interface Share<C> {
  /** What makes two reads the same, but for the origin. */
  readonly key: string
  /** The upstream origin its flight is keyed by: the one known when it was decided ('' if none yet). */
  readonly origin: string
  /** The TTL of the cache rule its route matches, if any. */
  readonly cacheTtlMs: number | undefined
  readonly cacheRule: CacheRuleView | undefined
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
   * `upstream` the one the routing table chose, `originOf` says its origin now ('' when not yet known): after a
   * reload that moves it, a request never joins a call to the old one (issue 24 #8).
   */
  decide (method: string, url: string, headers: IncomingHttpHeaders, upstream: string, originOf: () => string = () => ''): ShareDecision<C> {
    const { cache, provider } = this.#o
    if (!shareable(method, headers)) return ALONE
    const cacheRule = cache?.ruleFor(method, pathOf(url))
    const cacheTtlMs = cacheRule?.ttlMs
    if (!this.#coalescer.enabled && cacheRule === undefined) return ALONE
    const origin = originOf()
    const key = shareKey(upstream, method, url, headers)
    if (cache !== undefined && cacheRule !== undefined) {
      const token = provider.current()
      const hit = token === undefined ? undefined : cache.get(cacheKey(origin, key, token.tenantId), headers)
      if (token !== undefined && hit !== undefined) {
        const extra = { age: String(Math.min(AGE_MAX, upstreamAge(hit.response.headers.age) + hit.ageSec)), 'cache-status': cacheHitStatus(hit.ttlLeftSec, hit.overrode) }
        return { kind: 'hit', response: hit.response, token, extra }
      }
    }
    const joined = this.#coalescer.find(`${origin}\n${key}`)
    const flight = joined ?? this.#coalescer.start(`${origin}\n${key}`)
    const member = new Member<Shared<C>>(headers)
    flight.join(member)
    return { kind: joined === undefined ? 'lead' : 'join', share: { key, origin, cacheTtlMs, cacheRule, flight, member, leads: joined === undefined } }
  }

  /** Reads the leader's response body whole when it fits the bounds; a bodiless one is whole at once. */
  collect (body: Readable, declaredLength: number, done: (c: Collected) => void): void {
    this.#coalescer.read(body, declaredLength, (err, r) => {
      if (err !== null || r === undefined) done({ kind: 'broken', error: err })
      else if ('rest' in r) done({ kind: 'rest', rest: r.rest })
      else done({ kind: 'whole', body: r.whole })
    })
  }

  /**
   * The leader's response read whole: stored if its route is cached, and handed to every member it suits: one
   * whose request headers its Vary names match the leader's (RFC 9111 §4.1; `Vary: *` suits none but the leader),
   * of a flight whose call went to the origin it was keyed by. Every other member makes its own call.
   */
  share (s: Share<C>, response: WholeResponse, ctx: C, tenantId: string | undefined): void {
    const cache = this.#o.cache
    // Members who decided before the origin was known (a cold start) take the call's; others only their own.
    const sameOrigin = s.origin === '' || response.source.origin === s.origin
    const stored = cache !== undefined && s.cacheRule !== undefined && cache.set(cacheKey(response.source.origin, s.key, tenantId), response, s.cacheRule, s.member.headers)
    const ours: Outcome<Shared<C>> = { kind: 'response', response: { response, ctx, stored, overrode: stored && overridesCacheControl(response) } }
    const vary = varyOf(response.headers)
    s.flight.endEach((m) => m === s.member || (sameOrigin && varyMatches(vary, s.member.headers, m.headers)) ? ours : ALONE)
    this.#coalescer.release(response.body.length)
  }

  /** Ends the flight for every member still in it, except `except` (answered otherwise). */
  end (s: Share<C>, outcome: Outcome<Shared<C>>, except?: Member<Shared<C>>): void {
    s.flight.end(outcome, except)
  }

  /** The Cache-Status of a forwarded response of a cached route, for one member; none for other routes. */
  missHeaders (s: Share<C>, stored: boolean, overrode = false): Record<string, string> | undefined {
    return s.cacheTtlMs === undefined ? undefined : { 'cache-status': cacheMissStatus(stored, !s.leads, overrode) }
  }

  /** The answer as one member gets it: a Set-Cookie goes only to the caller whose request was sent (issue 24 #5). */
  forMember (s: Share<C>, response: WholeResponse): WholeResponse {
    return s.leads ? response : withoutSetCookie(response)
  }
}

/** The API's Age, if it is valid delta-seconds (RFC 9111 §5.1); anything else (`-5`, `1e20`, `soon`) counts as 0. */
function upstreamAge (value: string | string[] | undefined): number {
  const v = Array.isArray(value) ? value[0] : value
  if (v === undefined || !/^\d+$/.test(v.trim())) return 0
  return Math.min(AGE_MAX, Number(v.trim()))
}

/**
 * The cache's key: the origin that answered, the read's key, and the tenant of the token, so that neither another
 * tenant's token nor a request to another host after a reload ever sees it.
 */
function cacheKey (origin: string, readKey: string, tenantId: string | undefined): string {
  return `${origin}\n${readKey}\n${tenantId ?? ''}`
}

/**
 * Where the forwarding path meets coalescing (coalesce.ts) and the micro-cache (micro-cache.ts), so forward.ts
 * keeps to forwarding. Before the gate, a read is answered from the cache, joins the same read in flight, or leads
 * a flight of its own; the leader's answer (after any 401 replay) is read whole and handed to every member, each
 * delivered as its own answer by forward.ts's `respond`.
 */
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { TokenProvider } from '../token/token-provider.js'
import { pathOf } from './admission.js'
import { Coalescer, shareable, shareKey, type Flight, type Member, type Outcome, type SharedAnswer } from './coalesce.js'
import type { AnswerSource, RequestContext } from './forward.js'
import type { UpstreamGate } from './gate.js'
import { cacheHitStatus, cacheMissStatus, type MicroCache } from './micro-cache.js'
import { bodiless, drain } from './deliver.js'
import { mapBrokenAnswer } from './upstream-errors.js'

/** What a flight's members get: the answer read whole, the context of the call that got it, whether it was cached. */
interface Shared {
  readonly answer: SharedAnswer
  readonly ctx: RequestContext
  readonly stored: boolean
}

/** A read that may be shared or cached: its key, and the flight it leads or joined. */
interface Share {
  readonly key: string
  /** The TTL of the cache rule its route matches, if any. */
  readonly cacheTtlMs: number | undefined
  readonly flight: Flight<Shared>
  readonly member: Member<Shared>
  readonly leads: boolean
  /** The leader's place upstream is the flight's: given back when the flight ends. */
  holdsPlace: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    share: Share | null
  }
}

/** Sends an upstream answer to one caller: headers cleaned, links rewritten, its own X-Request-Id, `extra` added. */
export type Respond = (request: FastifyRequest, reply: FastifyReply, source: AnswerSource, statusCode: number, headers: SharedAnswer['headers'], stream: Readable, extra: Record<string, string> | undefined) => void

export interface SharingOptions {
  /** Identical reads in flight share one call (PROXY_COALESCE). */
  coalesce: boolean
  cache: MicroCache | undefined
  provider: TokenProvider
  gate: UpstreamGate
  respond: Respond
  /** Sends a member on its own, as if it had come alone: the flight's answer was too large to share. */
  alone: (request: FastifyRequest, reply: FastifyReply) => void
  /** The leader keeps its place itself while it streams an answer too large to share. */
  keepPlace: (request: FastifyRequest) => void
  onCoalesced?: (() => void) | undefined
}

const NO_BODY = Buffer.alloc(0)

export class Sharing {
  readonly #o: SharingOptions
  readonly #coalescer: Coalescer<Shared>

  constructor (o: SharingOptions) {
    this.#o = o
    this.#coalescer = new Coalescer<Shared>({ enabled: o.coalesce })
  }

  /** Before the gate: true when the read is answered from the cache or has joined a flight (nothing to prepare). */
  admit (request: FastifyRequest, reply: FastifyReply, upstream: string): boolean {
    const { cache, provider } = this.#o
    const url = request.raw.url as string
    if (!shareable(request.method, request.headers)) return false
    const cacheTtlMs = cache?.ttlFor(request.method, pathOf(url))
    if (!this.#coalescer.enabled && cacheTtlMs === undefined) return false
    const key = shareKey(upstream, request.method, url, request.headers)
    if (cache !== undefined && cacheTtlMs !== undefined) {
      const token = provider.current()
      const hit = token === undefined ? undefined : cache.get(cacheKey(key, token.tenantId))
      if (token !== undefined && hit !== undefined) {
        request.proxyCtx = { token, upstream, origin: hit.answer.source.origin, hosts: hit.answer.source.hosts, body: undefined, replayed: false, upstreamStart: 0, upstreamMs: undefined, caller: reply.raw, quota: 'cache' }
        const age = Number(hit.answer.headers.age ?? 0)
        this.#serve(request, reply, hit.answer, { age: String((Number.isFinite(age) ? age : 0) + hit.ageSec), 'cache-status': cacheHitStatus(hit.ttlLeftSec) })
        return true
      }
    }
    const joined = this.#coalescer.find(key)
    const flight = joined ?? this.#coalescer.start(key)
    const member: Member<Shared> = { res: reply.raw, settle: (outcome) => { this.#settle(request, reply, outcome) } }
    request.share = { key, cacheTtlMs, flight, member, leads: joined === undefined, holdsPlace: false }
    flight.join(member)
    return joined !== undefined
  }

  /** True when the request is answered here (a cache hit or a follower), not by its own call. */
  answersItself (request: FastifyRequest): boolean {
    return request.proxyCtx?.quota === 'cache' || (request.share !== null && !request.share.leads)
  }

  /** A flight's leader holds its place for the flight, which its followers still need if the leader leaves. */
  holdPlace (request: FastifyRequest): boolean {
    const s = request.share
    if (s === null) return false
    s.holdsPlace = true
    s.flight.whenEnded(() => {
      if (!s.holdsPlace) return
      s.holdsPlace = false
      this.#o.gate.leave()
    })
    return true
  }

  /** An error for every member of the request's flight (but its leader, with `exceptLeader`); false if it has none. */
  fail (request: FastifyRequest, err: Error, exceptLeader = false): boolean {
    const s = request.share
    if (s === null) return false
    s.flight.end({ kind: 'error', error: err }, exceptLeader ? s.member : undefined)
    return true
  }

  /** The leader's answer: read whole and given to every member (and to the cache), or, too large, streamed to it. */
  answer (request: FastifyRequest, reply: FastifyReply, ctx: RequestContext, res: Dispatcher.ResponseData): void {
    const s = request.share as Share
    const ended = (err: Error | null, r?: { whole: Buffer } | { rest: Readable }): void => {
      if (err !== null || r === undefined) {
        // Nothing was sent yet: every member gets a clean 502, never a short body presented as complete.
        s.flight.end({ kind: 'error', error: mapBrokenAnswer(err, ctx.origin) })
        return
      }
      if ('rest' in r) {
        // Too large to share: the others make their own calls; the leader keeps its place while it streams.
        const here = (reply.raw as { aborted?: boolean }).aborted !== true
        if (here && s.holdsPlace) {
          s.holdsPlace = false
          this.#o.keepPlace(request)
        }
        s.flight.end({ kind: 'alone' }, s.member)
        if (here) this.#o.respond(request, reply, ctx, res.statusCode, res.headers, r.rest, s.cacheTtlMs === undefined ? undefined : { 'cache-status': cacheMissStatus(false, false) })
        else r.rest.destroy()
        return
      }
      const answer: SharedAnswer = { statusCode: res.statusCode, headers: res.headers, body: r.whole, source: { origin: ctx.origin, hosts: ctx.hosts } }
      const cache = this.#o.cache
      const stored = cache !== undefined && s.cacheTtlMs !== undefined && cache.set(cacheKey(s.key, ctx.token.tenantId), answer, s.cacheTtlMs)
      s.flight.end({ kind: 'answer', answer: { answer, ctx, stored } })
      this.#coalescer.release(r.whole.length)
    }
    if (!bodiless(request.method, res.statusCode)) {
      this.#coalescer.read(res.body, Number(res.headers['content-length'] ?? -1), ended)
      return
    }
    drain(res.body)
    ended(null, { whole: NO_BODY })
  }

  /** How a flight's end reaches one of its members. */
  #settle (request: FastifyRequest, reply: FastifyReply, outcome: Outcome<Shared>): void {
    const s = request.share as Share
    if (outcome.kind === 'alone') {
      request.share = null
      this.#o.alone(request, reply)
      return
    }
    if (!s.leads) this.#o.onCoalesced?.()
    if (outcome.kind === 'error') {
      reply.send(outcome.error)
      return
    }
    const { answer, ctx, stored } = outcome.answer
    if (!s.leads) request.proxyCtx = { ...ctx, body: undefined, upstreamMs: undefined, caller: reply.raw, quota: 'coalesced' }
    this.#serve(request, reply, answer, s.cacheTtlMs === undefined ? undefined : { 'cache-status': cacheMissStatus(stored, !s.leads) })
  }

  #serve (request: FastifyRequest, reply: FastifyReply, answer: SharedAnswer, extra: Record<string, string> | undefined): void {
    this.#o.respond(request, reply, answer.source, answer.statusCode, answer.headers, Readable.from(answer.body.length > 0 ? [answer.body] : []), extra)
  }
}

/** The cache's key: the read's, and the tenant of the token, so a token of another tenant never sees it. */
function cacheKey (readKey: string, tenantId: string | undefined): string {
  return `${readKey}\n${tenantId ?? ''}`
}

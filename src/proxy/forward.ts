/**
 * Forwarding: from an admitted request to the API's answer on its way back.
 *
 *   preHandler  429 shield and pacing (quota.ts) → gate (step 8 of admission) → pipelined order → token and API
 *               origin (sync when cached)
 *   handler     send upstream with undici: the raw path and query, cleaned headers, the bearer, the body
 *   answer      401 → one replay with a fresh token │ other → the shield learns of a 429, headers cleaned, links
 *               rewritten (deliver.ts)
 *   errors      network failures → the error table (upstream-errors.ts); a caller who left cancels it all
 *
 * Registered through @fastify/http-proxy (its routes and destination checks) with our own handler, which talks
 * to undici directly: reply-from passes no abort signal (a caller's hang-up would leave the upstream request
 * running) and costs more per request than everything of ours.
 */
import type { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import httpProxy from '@fastify/http-proxy'
import { LRUCache } from 'lru-cache'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { ProxyError } from '../core/errors.js'
import type { PaceRule } from '../core/config.js'
import type { TokenProvider } from '../token/token-provider.js'
import type { Discovery, TenantHosts } from '../token/discovery.js'
import type { RoutingTable } from '../core/routing.js'
import { upstreamOrigin } from '../token/upstreams.js'
import type { TokenSet } from '../token/token-client.js'
import { clearUpstreamHeaders } from '../core/answer.js'
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { buildRewrite, rewriteHeaderValue, rewriteLocation, type KnownOrigin, type Rewrite } from './link-rewriter.js'
import { createDeliver } from './deliver.js'
import { pathOf } from './admission.js'
import { mapUpstreamError } from './upstream-errors.js'
import type { BodyBuffer } from './body.js'
import type { UpstreamGate } from './gate.js'
import { QuotaGuard, type QuotaTicket } from './quota.js'
import type { ShieldArmed } from './shield.js'
import type { PaceWaited } from './pace.js'
import type { MicroCache } from './micro-cache.js'
import { Sharing } from './sharing.js'

export interface ForwardOptions {
  /** The business unit (profile) this listener serves: part of every per-request key (issue 12). */
  profile: string
  provider: TokenProvider
  discovery: Discovery
  dispatcher: Dispatcher
  gate: UpstreamGate
  bodies: BodyBuffer
  upstreamTimeoutMs: number
  /** The routing table in force (a reload may replace it): which upstream serves a path. */
  routing: () => RoutingTable
  /** The proxy's own origin for rewritten links (PROXY_PUBLIC_URL or the caller's Host). */
  publicOrigin: (request: FastifyRequest) => string
  onUpstream401?: () => void
  onReplay?: () => void
  /** Routes NICE paces (the "pace" setting). */
  pace: readonly PaceRule[]
  /** PROXY_PACE_MAX_WAIT_MS: the longest wait in a pace lane or behind a 429 shield's probe. */
  paceMaxWaitMs: number
  onShieldArmed?: (e: ShieldArmed) => void
  onPaceWait?: (e: PaceWaited) => void
  /** Identical reads in flight share one upstream call (PROXY_COALESCE; coalesce.ts). */
  coalesce: boolean
  /** The operator's micro-cache for this profile (micro-cache.ts); absent: nothing is cached. */
  cache?: MicroCache | undefined
  /** A request was answered by another's upstream call (its answer or its error). */
  onCoalesced?: () => void
}

/** Everything the forwarding path knows about one request; typed, and read by the request log. */
export interface RequestContext {
  token: TokenSet
  /** The named upstream the routing table chose (`api`, `ui`, `digital` or a configured one). */
  upstream: string
  origin: string
  /** The tenant's upstream origins, for rewriting links that route back to them. */
  hosts: TenantHosts
  /** The whole body (read by body.ts), kept for a replay after a 401. */
  body: Buffer | undefined
  replayed: boolean
  upstreamStart: number
  upstreamMs: number | undefined
  /**
   * undici's abort signal: the caller's response, which emits `abort` when the caller goes away before its answer;
   * for a shared read, its flight's signal, which does so when every caller has gone.
   */
  caller: AbortSignalLike
  /** How the quota was spared for this request, for the log line: shared an answer in flight, cached, or shielded. */
  quota: 'coalesced' | 'cache' | 'shielded' | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    proxyCtx: RequestContext | null
    passage: Passage | null
    /** The quota outcome of a request answered before it had a context (shielded in the preHandler). */
    earlyQuota: RequestContext['quota'] | null
  }
}

/** What one request holds on its way upstream: released in one place, when its caller's response closes. */
interface Passage {
  /** Settles when the earlier requests this one must wait for on its pipelined connection are answered. */
  readonly wait: Promise<void> | undefined
  /** A place in the upstream gate is held. */
  held: boolean
  /** Body bytes held in the body buffer. */
  bodyBytes: number
  /** Its place behind a 429 shield's probe and in a pace lane. */
  quota: QuotaTicket | undefined
  /** The upstream the routing table chose for its path. */
  upstream: string
}

const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET'])
/** Bodies up to this size are replayed after an upstream 401; a larger one gets the 401 passed through. */
export const REPLAY_BODY_LIMIT = 64 * 1024
/** After a fresh token was refused too, 401s are passed through without a token request for this long. */
export const REFUSED_COOLDOWN_MS = 30_000
/** Distinct routes remembered for their cool-down (their 401s are about permissions, not the token). */
const REFUSED_ROUTES_MAX = 1024
/**
 * Token requests that upstream 401s may cause: a burst, then one per interval. A revocation is noticed at the
 * first 401 while the budget lasts; 401s on many distinct paths (a missing permission, paths with ids) cannot
 * turn into one token request each.
 */
export const REFRESH_ON_401_BURST = 3
export const REFRESH_ON_401_INTERVAL_MS = 10_000

type Done = (err?: Error) => void

/** The caller's response as undici's abort signal: `aborted` is set and `abort` emitted when the caller has gone. */
type CallerSignal = ServerResponse & { aborted?: boolean }
type AbortSignalLike = EventEmitter & { aborted?: boolean }

/** Where an answer came from, for rewriting its links: the upstream's origin and the tenant's upstreams. */
export interface AnswerSource {
  origin: string
  hosts: TenantHosts
}

export async function forwardPlugin (scope: FastifyInstance, opts: ForwardOptions): Promise<void> {
  const { provider, discovery, gate, bodies } = opts
  const deliver = createDeliver()
  // Coalescing and the micro-cache (sharing.ts): reads answered without a call of their own.
  const sharing = new Sharing({
    coalesce: opts.coalesce,
    cache: opts.cache,
    provider,
    gate,
    respond,
    alone: (request, reply) => {
      prepare(request, undefined, reply.raw as CallerSignal, request.passage as Passage, (err) => {
        if (err !== undefined) reply.send(err)
        else handler(request, reply)
      })
    },
    keepPlace: (request) => { (request.passage as Passage).held = true },
    onCoalesced: opts.onCoalesced
  })
  // Routes whose 401s survived a fresh token: passed through for a while (bounded, expiring).
  const notAboutTheToken = new LRUCache<string, true>({ max: REFUSED_ROUTES_MAX, ttl: REFUSED_COOLDOWN_MS })

  const refreshBudget = new TokenBucket(REFRESH_ON_401_BURST, REFRESH_ON_401_INTERVAL_MS)
  // Per plugin instance, so per profile: one business unit's 429s and pace lanes are its own.
  const quota = new QuotaGuard({ profile: opts.profile, pace: opts.pace, maxWaitMs: opts.paceMaxWaitMs, onShieldArmed: opts.onShieldArmed, onPaceWait: opts.onPaceWait })
  // The Host of the last origin used: nearly every request goes to the same one, so one pair is the whole cache.
  let lastOrigin = ''
  let lastHost = ''
  const hostOf = (origin: string): string => {
    if (origin !== lastOrigin) {
      lastHost = new URL(origin).host
      lastOrigin = origin
    }
    return lastHost
  }

  scope.decorateRequest('proxyCtx', null)
  scope.decorateRequest('passage', null)
  scope.decorateRequest('earlyQuota', null)
  scope.decorateRequest('share', null)
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', bodies.parse)
  // Pipelined order is taken as requests arrive, before their bodies are read: Node answers in that order. The one
  // close listener gives back everything the request came to hold, and aborts upstream for a caller who left.
  scope.addHook('onRequest', (request, reply, done) => {
    const order = gate.order(request.raw.socket, request.method)
    const passage: Passage = { wait: order.wait, held: false, bodyBytes: 0, quota: undefined, upstream: 'api' }
    request.passage = passage
    // undici takes an EventEmitter as its abort signal: the caller's own response serves, so a request costs no
    // AbortController (an EventTarget, measurably dear on this path).
    const caller = reply.raw as CallerSignal
    caller.once('close', () => {
      order.answered()
      // A flight's leader holds its shield and pace places for the whole flight, whose call goes on for the others.
      const share = request.share
      if (share?.leads === true && !share.flight.ended) {
        const ticket = passage.quota
        share.flight.whenEnded(() => { quota.leave(ticket) })
      } else {
        quota.leave(passage.quota)
      }
      if (passage.held) gate.leave()
      passage.held = false
      bodies.release(passage.bodyBytes)
      passage.bodyBytes = 0
      if (!caller.writableFinished) {
        caller.aborted = true
        caller.emit('abort')
      }
    })
    done()
  })

  // Callback style with a synchronous fast path: a place upstream, a valid token and a known origin cost no promise.
  function preHandler (request: FastifyRequest, reply: FastifyReply, done: Done): void {
    const body = request.body instanceof Buffer ? request.body : undefined
    const caller = reply.raw as CallerSignal
    const passage = request.passage as Passage
    if (body !== undefined) {
      // Gone while its body arrived: nothing more will be held for it, and its bytes go back now.
      if (caller.aborted === true) bodies.release(body.length)
      else passage.bodyBytes = body.length
    }
    if (caller.aborted === true) {
      done()
      return
    }
    // The routing table names the upstream from the path alone; sharing and the shield are kept per upstream.
    passage.upstream = opts.routing().route(pathOf(request.raw.url ?? ''))
    // A read answered from the cache, or joined to the same read in flight, costs no quota, no place and no token.
    if (passage.wait === undefined && body === undefined && sharing.admit(request, reply, passage.upstream)) {
      done()
      return
    }
    prepare(request, body, caller, passage, done)
  }

  /**
   * The 429 shield and pacing, the token and the origin, then a place upstream; sync when nothing needs a wait. The
   * place comes last: a profile waiting for its token holds none that another profile's requests need.
   */
  function prepare (request: FastifyRequest, body: Buffer | undefined, caller: CallerSignal, passage: Passage, done: Done): void {
    // A flight's leader waits and is sent for every member: its signal is the flight's.
    const signal = request.share?.flight.signal ?? caller
    // The members of a flight whose leader could not be sent (shielded, too busy, no token) get the same error.
    const fail = (err: Error): void => {
      sharing.fail(request, err, true)
      refused(request, err, done)
    }
    try {
      passage.quota ??= quota.hold(request.method, request.raw.url ?? '', passage.upstream, signal)
    } catch (err) {
      fail(err as Error)
      return
    }
    if (passage.quota?.wait === undefined && passage.wait === undefined) {
      const token = provider.current()
      const hosts = token === undefined ? undefined : discovery.knownHosts(token.tenantId)
      if (token !== undefined && hosts !== undefined) {
        const err = attach(request, token, hosts, body, signal)
        if (err !== undefined) {
          fail(err)
          return
        }
        if (gate.tryEnter()) {
          if (!sharing.holdPlace(request)) passage.held = true
          done()
          return
        }
      }
    }
    prepareSlowly(request, body, signal, passage).then(() => { done() }, fail)
  }

  /** A refusal before the request had a context; the shield's is logged as `quota: shielded`. */
  function refused (request: FastifyRequest, err: Error, done: Done): void {
    if (err instanceof ProxyError && err.code === 'rate_limited') request.earlyQuota = 'shielded'
    done(err)
  }

  /** The same steps, waiting where it must: for earlier pipelined requests, the quota, the token, the origin, a place. */
  async function prepareSlowly (request: FastifyRequest, body: Buffer | undefined, signal: AbortSignalLike, passage: Passage): Promise<void> {
    if (passage.wait !== undefined) await passage.wait
    if (passage.quota?.wait !== undefined) {
      await passage.quota.wait
      // Gone while it waited behind a probe or in a pace lane: nothing more is taken for it.
      if (signal.aborted === true) return
    }
    if (request.proxyCtx === null) {
      const token = provider.current() ?? await provider.getToken()
      const hosts = discovery.knownHosts(token.tenantId) ?? await discovery.hosts(token.tenantId)
      const err = attach(request, token, hosts, body, signal)
      if (err !== undefined) throw err
    }
    if (!passage.held && request.share?.holdsPlace !== true) {
      await gate.enter()
      // The caller (every caller of a flight) may have gone while it waited: give the place back at once.
      if (signal.aborted === true) gate.leave()
      else if (!sharing.holdPlace(request)) passage.held = true
    }
  }

  /** Routes the request and sets its context; an upstream whose host is not known is its error, and nothing is sent. */
  function attach (request: FastifyRequest, token: TokenSet, hosts: TenantHosts, body: Buffer | undefined, caller: AbortSignalLike): ProxyError | undefined {
    const upstream = (request.passage as Passage).upstream
    const origin = upstreamOrigin(upstream, hosts)
    if (typeof origin !== 'string') return origin
    request.proxyCtx = { token, upstream, origin, hosts, body, replayed: false, upstreamStart: 0, upstreamMs: undefined, caller, quota: undefined }
    return undefined
  }

  // The rewrite for the last (table, tenant hosts, public origin) used: nearly every request reuses it.
  let lastRewrite: { table: RoutingTable, hosts: TenantHosts, to: string, rw: Rewrite } | undefined
  /** Links on any known upstream origin that route back to it are rewritten to the proxy's origin. */
  function rewriteFor (request: FastifyRequest, ctx: AnswerSource): Rewrite {
    const table = opts.routing()
    const to = opts.publicOrigin(request)
    if (lastRewrite?.table === table && lastRewrite.hosts === ctx.hosts && lastRewrite.to === to) return lastRewrite.rw
    const byOrigin = new Map<string, string[]>()
    for (const name of table.upstreams) {
      const origin = upstreamOrigin(name, ctx.hosts)
      if (typeof origin === 'string') byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), name])
    }
    const known: KnownOrigin[] = [...byOrigin].map(([origin, upstreams]) => ({ origin, upstreams }))
    const rw = buildRewrite(known, to, table)
    lastRewrite = { table, hosts: ctx.hosts, to, rw }
    return rw
  }

  function handler (request: FastifyRequest, reply: FastifyReply): void {
    // A cached or coalesced read is answered by sharing.ts.
    if (sharing.answersItself(request)) return
    // A caller who left before its request was prepared gets nothing, and nothing is sent for it.
    if (request.proxyCtx === null && (request.share?.flight.signal ?? reply.raw as CallerSignal).aborted === true) return
    send(request, reply, ctxOf(request), 0)
  }

  function send (request: FastifyRequest, reply: FastifyReply, ctx: RequestContext, attempt: number): void {
    // A caller who has gone is not served: nothing is sent for it (a retried POST would be a duplicate).
    if (ctx.caller.aborted === true) return
    ctx.upstreamStart = performance.now()
    quota.sent((request.passage as Passage).quota)
    opts.dispatcher.request({
      origin: ctx.origin,
      path: request.raw.url as string,
      method: request.method as Dispatcher.HttpMethod,
      headers: upstreamRequestHeaders(request.headers, ctx.token.accessToken, hostOf(ctx.origin), request.id),
      body: ctx.body ?? null,
      signal: ctx.caller,
      headersTimeout: opts.upstreamTimeoutMs,
      bodyTimeout: opts.upstreamTimeoutMs
    }, (err, res) => {
      if (err !== null) {
        if (ctx.caller.aborted === true) return
        // A GET that meets a keep-alive socket the API already closed is sent once more.
        const code = (err as { code?: string }).code ?? ''
        if (attempt === 0 && STALE_SOCKET.has(code) && (request.method === 'GET' || request.method === 'HEAD')) {
          send(request, reply, ctx, attempt + 1)
          return
        }
        fail(request, reply, mapUpstreamError(err, ctx.origin))
        return
      }
      answer(request, reply, ctx, res)
    })
  }

  /** An error for the caller, and for every member of its flight. */
  function fail (request: FastifyRequest, reply: FastifyReply, err: Error): void {
    if (!sharing.fail(request, err)) reply.send(err)
  }

  function answer (request: FastifyRequest, reply: FastifyReply, ctx: RequestContext, res: Dispatcher.ResponseData): void {
    ctx.upstreamMs = performance.now() - ctx.upstreamStart
    if (res.statusCode === 401) {
      const route = `${request.method} ${pathOf(request.raw.url ?? '')}`
      if (ctx.replayed) {
        // A fresh token was refused too: this 401 is not about the token (a permission, say). For a while,
        // this route's 401s go to the caller without costing a token request each.
        notAboutTheToken.set(route, true)
      } else if (notAboutTheToken.get(route) === undefined && refreshBudget.take()) {
        provider.invalidate(ctx.token.accessToken)
        opts.onUpstream401?.()
        if (ctx.body === undefined || ctx.body.length <= REPLAY_BODY_LIMIT) {
          replay(request, reply, ctx, res)
          return
        }
      }
    }
    quota.answered((request.passage as Passage).quota, ctx.upstream, request.raw.url ?? '', res.statusCode, res.headers['retry-after'])
    if (request.share !== null) sharing.answer(request, reply, ctx, res)
    else respond(request, reply, ctx, res.statusCode, res.headers, res.body, undefined)
  }

  /** The upstream's answer to one caller: headers cleaned, links rewritten to the origin it called, its own id. */
  function respond (request: FastifyRequest, reply: FastifyReply, source: AnswerSource, statusCode: number, upstreamHeaders: Record<string, string | string[] | undefined>, stream: Readable, extra: Record<string, string> | undefined): void {
    const headers = downstreamResponseHeaders(upstreamHeaders)
    const rw = rewriteFor(request, source)
    rewriteLinkHeaders(headers, rw)
    headers['x-request-id'] = request.id
    if (extra !== undefined) Object.assign(headers, extra)
    reply.code(statusCode)
    reply.headers(headers)
    deliver(request, reply, { statusCode, headers: upstreamHeaders, stream }, source.origin, rw)
  }

  /** Location, Content-Location and Link name API URLs too: they are rewritten like links in a body. */
  function rewriteLinkHeaders (headers: Record<string, unknown>, rw: Rewrite): void {
    const location = headers.location
    if (typeof location === 'string') headers.location = rewriteLocation(location, rw)
    const contentLocation = headers['content-location']
    if (typeof contentLocation === 'string') headers['content-location'] = rewriteLocation(contentLocation, rw)
    const link = headers.link
    if (typeof link === 'string') headers.link = rewriteHeaderValue(link, rw)
  }

  function replay (request: FastifyRequest, reply: FastifyReply, ctx: RequestContext, res: Dispatcher.ResponseData): void {
    res.body.resume()
    clearUpstreamHeaders(reply)
    ctx.replayed = true
    opts.onReplay?.()
    provider.getToken().then((token) => {
      ctx.token = token
      send(request, reply, ctx, 0)
    }, (err: Error) => { fail(request, reply, err) })
  }

  await scope.register(httpProxy, {
    upstream: '',
    proxyPayloads: false,
    // reply-from is registered by http-proxy but never called: give it our pool so it builds none of its own.
    undici: opts.dispatcher,
    disableRequestLogging: true,
    internalRewriteLocationHeader: false,
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    preHandler,
    handler,
    // http-proxy checks the destination against this origin before it calls the handler.
    replyOptions: { getUpstream: (request) => request.proxyCtx?.origin ?? '' }
  })
}

function ctxOf (request: FastifyRequest): RequestContext {
  if (request.proxyCtx === null) throw new ProxyError('internal_error', `request ${request.id} reached forwarding without a context`)
  return request.proxyCtx
}

/** A token bucket on the monotonic clock: `burst` at once, then one per `intervalMs`. */
class TokenBucket {
  #tokens: number
  #at = performance.now()
  readonly #burst: number
  readonly #intervalMs: number
  constructor (burst: number, intervalMs: number) {
    this.#burst = burst
    this.#tokens = burst
    this.#intervalMs = intervalMs
  }

  take (): boolean {
    const now = performance.now()
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) / this.#intervalMs)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}

/**
 * The forwarding plugin: wiring of the stages an admitted request goes through, read top to bottom in
 *
 *   journey.ts    what the request holds, and its one release when its caller's response closes
 *   pipeline.ts   the preHandler: body, routing, sharing, pipelined order, quota, token, origin, gate
 *   send.ts       the call upstream, the stale-socket retry, the 401 replay
 *   flights.ts    a cache hit, a flight's response handed to its members
 *   respond.ts    headers, links and body to the caller
 *
 * Registered through @fastify/http-proxy for its routes, with our own handler, which talks to undici directly: a
 * caller's hang-up aborts the upstream call, and nothing else runs per request. The pipeline calls the handler
 * itself once a request is prepared (`proceed`): http-proxy's route handler would only repeat the destination check
 * admission made (issue 26). It is still given our handler, so that nothing could ever reach reply-from.
 */
import httpProxy from '@fastify/http-proxy'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { Clock } from '../core/clock.js'
import { ProxyError } from '../core/errors.js'
import type { PaceRule } from '../core/config.js'
import type { RoutingTable } from '../core/routing.js'
import type { Discovery } from '../token/discovery.js'
import type { TokenProvider } from '../token/token-provider.js'
import type { CallerLimits } from '../quota/caller-limits.js'
import type { MicroCache } from '../quota/micro-cache.js'
import type { PaceWaited } from '../quota/pace.js'
import { QuotaGuard } from '../quota/quota.js'
import { Sharing } from '../quota/sharing.js'
import type { ShieldArmed } from '../quota/shield.js'
import type { BodyBuffer } from './body.js'
import { Flights } from './flights.js'
import type { UpstreamGate } from './gate.js'
import { Journey, type JourneyDeps, type RequestContext } from './journey.js'
import { Pipeline } from './pipeline.js'
import { Responder } from './respond.js'
import { Sender } from './send.js'

export interface ForwardOptions {
  /** The business unit (profile) this listener serves: part of every per-request key (issue 12). */
  profile: string
  provider: TokenProvider
  discovery: Discovery
  dispatcher: Dispatcher
  gate: UpstreamGate
  bodies: BodyBuffer
  clock: Clock
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
  /** Identical reads in flight share one upstream call (PROXY_COALESCE). */
  coalesce: boolean
  /** The operator's micro-cache for this profile; absent: nothing is cached. */
  cache?: MicroCache | undefined
  /** A request was answered by another's upstream call (its response or its error). */
  onCoalesced?: () => void
  /** issue 22: the named callers' shares of the quota; absent without callers. */
  limits?: CallerLimits | undefined
  /** issue 22, shadow mode: a refusal a caller's policy or share would have made. */
  wouldRefuse?: ((request: FastifyRequest, err: ProxyError) => void) | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    journey: Journey | null
  }
}

export async function forwardPlugin (scope: FastifyInstance, opts: ForwardOptions): Promise<void> {
  const { pipeline, handler, deps } = stages(opts)
  scope.decorateRequest('journey', null)
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', opts.bodies.parse)
  // Pipelined order is taken as requests arrive, before their bodies are read: Node answers in that order.
  scope.addHook('onRequest', (request, reply, done) => {
    const journey = new Journey(deps, reply.raw, opts.gate.order(request.raw.socket, request.method))
    request.journey = journey
    // 'close' comes once per response: a plain listener (no once wrapper per request).
    reply.raw.on('close', () => { journey.release() })
    done()
  })
  await scope.register(httpProxy, {
    upstream: '',
    proxyPayloads: false,
    // http-proxy registers reply-from, which our handler never calls: given our pool, it builds none of its own.
    undici: opts.dispatcher,
    disableRequestLogging: true,
    internalRewriteLocationHeader: false,
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    preHandler: pipeline.run,
    handler,
    // http-proxy checks the destination against this origin before it calls the handler.
    replyOptions: { getUpstream: (request) => request.journey?.ctx?.origin ?? '' }
  })
}

/** The stages of one profile's forwarding path, wired; the handler sends what the pipeline prepared. */
function stages (opts: ForwardOptions): { pipeline: Pipeline, handler: (request: FastifyRequest, reply: FastifyReply) => void, deps: JourneyDeps } {
  const { provider, gate, bodies, clock } = opts
  // Per plugin instance, so per profile: one business unit's 429s, pace lanes, flights and cache are its own.
  const quota = new QuotaGuard({ profile: opts.profile, pace: opts.pace, maxWaitMs: opts.paceMaxWaitMs, clock, onShieldArmed: opts.onShieldArmed, onPaceWait: opts.onPaceWait })
  const sharing = new Sharing<RequestContext>({ coalesce: opts.coalesce, cache: opts.cache, provider })
  const responder = new Responder({ routing: opts.routing, publicOrigin: opts.publicOrigin })
  const flights = new Flights({ sharing, responder, alone, onCoalesced: opts.onCoalesced })
  const pipeline = new Pipeline({ routing: opts.routing, sharing, quota, provider, discovery: opts.discovery, gate, inFlight: flights.await, limits: opts.limits, wouldRefuse: opts.wouldRefuse, proceed: handler })
  const { dispatcher, upstreamTimeoutMs, onUpstream401, onReplay } = opts
  const sender = new Sender({ profile: opts.profile, dispatcher, provider, quota, clock, upstreamTimeoutMs, onUpstream401, onReplay, arrived: flights.arrived, failed: flights.failed })

  /** A member of a flight too large to share goes on as if it had come alone. */
  function alone (request: FastifyRequest, reply: FastifyReply, journey: Journey): void {
    pipeline.prepare(request, journey, (err) => {
      if (err !== undefined) reply.send(err)
      else handler(request, reply)
    })
  }

  function handler (request: FastifyRequest, reply: FastifyReply): void {
    const journey = request.journey as Journey
    // A follower's response comes from its flight (flights.ts).
    if (journey.share?.leads === false) return
    if (journey.hit !== undefined) {
      flights.serveHit(request, reply, journey.hit.response, journey.hit.extra)
      return
    }
    const ctx = journey.ctx
    if (ctx === undefined) {
      // A caller who left before its request was prepared gets nothing, and nothing is sent for it.
      if (journey.signal.aborted !== true) reply.send(new ProxyError('internal_error', `request ${request.id} reached forwarding without a context`))
      return
    }
    sender.send(request, reply, journey, ctx, 0)
  }
  return { pipeline, handler, deps: { gate, bodies, quota } }
}

/**
 * The forwarding pipeline: the preHandler every admitted request goes through once its body has arrived, in the
 * order it runs (docs/architecture.md draws the same):
 *
 *   1. body       the bytes body.ts read are the journey's to give back
 *   2. routing    the routing table names the upstream from the path alone
 *   2b. caller    issue 22: the named caller's own rules (caller-policy.ts authorise), before anything shared is read
 *   3. sharing    a micro-cache hit, a flight joined, a flight led, or alone (src/quota/sharing.ts); a hit and a
 *                 follower go straight to the handler: they cost no quota, no place and no token
 *   4. quota      the caller's share (caller-limits.ts; only for a call of its own: a leader, or alone), then
 *                 the 429 shield, then pacing (src/quota/quota.ts): refused at once, or a ticket, maybe to wait on
 *   5. waits      a pipelined connection's unsafe requests wait for the ones before them (gate.ts), then the
 *                 ticket's wait behind a shield's probe or in a pace lane
 *   6. token      the profile's bearer, and the tenant's upstream hosts
 *   7. origin     the upstream's origin for this tenant: unknown, the request's error
 *   8. gate       a place upstream, last: a profile waiting for its token holds none another profile needs
 *
 * Callback style with a synchronous fast path: no wait, a valid token and a known origin cost no promise.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { authorise, type CallerPolicy } from '../core/caller-policy.js'
import { ProxyError } from '../core/errors.js'
import { pathOf } from '../core/paths.js'
import type { RoutingTable } from '../core/routing.js'
import type { Discovery, TenantHosts } from '../token/discovery.js'
import type { TokenProvider } from '../token/token-provider.js'
import type { TokenSet } from '../token/token-client.js'
import { upstreamOrigin } from '../token/upstreams.js'
import type { CallerLimits } from '../quota/caller-limits.js'
import type { QuotaGuard } from '../quota/quota.js'
import type { Share, Sharing } from '../quota/sharing.js'
import type { UpstreamGate } from './gate.js'
import type { Journey, RequestContext } from './journey.js'

type Done = (err?: Error) => void

interface PipelineOptions {
  routing: () => RoutingTable
  sharing: Sharing<RequestContext>
  quota: QuotaGuard
  provider: TokenProvider
  discovery: Discovery
  gate: UpstreamGate
  /** A flight was joined or led: its outcome reaches the request from there. */
  inFlight: (request: FastifyRequest, reply: FastifyReply, journey: Journey, share: Share<RequestContext>) => void
  /** issue 22: each named caller's share of the quota (one per process). */
  limits?: CallerLimits | undefined
  /** issue 22, shadow mode: what a caller's policy or share would have refused. */
  wouldRefuse?: ((request: FastifyRequest, err: ProxyError) => void) | undefined
  /**
   * The forwarding handler, called straight from here once the request is prepared (issue 26): @fastify/http-proxy's
   * own route handler would only repeat, with three URL parses per request, the destination check admission's
   * checkTarget already made (stricter; test/property-request-target.test.ts).
   */
  proceed: (request: FastifyRequest, reply: FastifyReply) => void
}

export class Pipeline {
  readonly #o: PipelineOptions
  /** The tenant of the last token a request was prepared with. */
  #lastTenant: string | undefined

  constructor (o: PipelineOptions) {
    this.#o = o
  }

  /** Steps 1 to 3, then the rest (`prepare`) for a request that makes a call; an error goes to Fastify's `next`. */
  readonly run = (request: FastifyRequest, reply: FastifyReply, next: Done): void => {
    const done: Done = (err) => {
      if (err !== undefined) {
        next(err)
        return
      }
      if (reply.sent) return
      try {
        this.#o.proceed(request, reply)
      } catch (e) {
        next(e as Error)
      }
    }
    const journey = request.journey as Journey
    const body = request.body instanceof Buffer ? request.body : undefined
    if (body !== undefined) journey.holdBody(body.length)
    // Gone while its body arrived: nothing more is taken for it.
    if (journey.caller.aborted === true) {
      done()
      return
    }
    journey.upstream = this.#o.routing().route(pathOf(request.raw.url ?? ''))
    const refused = this.#authorise(request)
    if (refused !== undefined) {
      done(refused)
      return
    }
    if (journey.turn.wait === undefined && body === undefined && this.#share(request, reply, journey, done)) return
    this.prepare(request, journey, done)
  }

  /** Step 2b: the caller's own rules; in shadow mode a refusal is reported and the call goes on. */
  #authorise (request: FastifyRequest): ProxyError | undefined {
    const policy = request.callerPolicy
    if (policy === null) return undefined
    const d = authorise(policy, request.method, pathOf(request.raw.url ?? ''), request.headers)
    if (d.ok) return undefined
    if (d.enforce) return d.error
    this.#o.wouldRefuse?.(request, d.error)
    return undefined
  }

  /**
   * Step 4's first part: a place in the caller's share, for a call that will reach CXone. Taken by a leader the moment
   * its flight starts, before anyone can join it, so a leader over its share never hands its refusal to another caller.
   */
  #limit (request: FastifyRequest, journey: Journey, policy: CallerPolicy): ProxyError | undefined {
    const limits = this.#o.limits
    if (limits === undefined || journey.limit !== undefined) return undefined
    const d = limits.take(policy.caller)
    if (!d.ok) return d.error
    journey.limit = d.ticket
    if (d.wouldRefuse !== undefined) this.#o.wouldRefuse?.(request, d.wouldRefuse)
    journey.owner = `${policy.caller.profile}/${policy.caller.name}`
    return undefined
  }

  /** Step 3: true when the request is answered (a hit, a follower) or refused (`done` called) without a call of its own. */
  #share (request: FastifyRequest, reply: FastifyReply, journey: Journey, done: Done): boolean {
    const decision = this.#o.sharing.decide(request.method, request.raw.url as string, request.headers, journey.upstream, () => this.#originNow(journey.upstream))
    switch (decision.kind) {
      case 'alone': return false
      case 'hit': {
        const { source } = decision.response
        journey.ctx = { token: decision.token, upstream: journey.upstream, origin: source.origin, hosts: source.hosts, body: undefined, replayed: false, upstreamStart: 0, upstreamMs: undefined, caller: journey.caller }
        journey.spared = 'cache'
        journey.hit = { response: decision.response, extra: decision.extra }
        done()
        return true
      }
      case 'join':
      case 'lead': {
        const limited = decision.kind === 'lead' && request.callerPolicy !== null ? this.#limit(request, journey, request.callerPolicy) : undefined
        if (limited !== undefined) {
          // Nobody has joined yet (this is the same tick): the flight ends with no other member.
          this.#o.sharing.end(decision.share, { kind: 'error', error: limited }, decision.share.member)
          done(limited)
          return true
        }
        journey.share = decision.share
        this.#o.inFlight(request, reply, journey, decision.share)
        if (decision.kind === 'join') done()
        return decision.kind === 'join'
      }
    }
  }

  /** The upstream's origin for the current token and its known hosts ('' when not known yet): part of a read's key. */
  #originNow (upstream: string): string {
    // While the token is renewed (a 401, say), the last tenant's hosts still say where the call would go.
    const tenantId = this.#o.provider.current()?.tenantId ?? this.#lastTenant
    const hosts = this.#o.discovery.knownHosts(tenantId)
    const origin = hosts === undefined ? undefined : upstreamOrigin(upstream, hosts)
    return typeof origin === 'string' ? origin : ''
  }

  /** Steps 4 to 8, sync when nothing needs a wait (a ticket is taken before waiting for anything). */
  prepare (request: FastifyRequest, journey: Journey, done: Done): void {
    const { quota, provider, discovery, gate } = this.#o
    const fail = (err: Error): void => { this.#refused(journey, err, done) }
    const body = request.body instanceof Buffer ? request.body : undefined
    const limited = request.callerPolicy === null ? undefined : this.#limit(request, journey, request.callerPolicy)
    if (limited !== undefined) {
      fail(limited)
      return
    }
    try {
      journey.ticket ??= quota.hold(request.method, request.raw.url ?? '', journey.upstream, journey.signal, journey.owner)
    } catch (err) {
      fail(err as Error)
      return
    }
    if (journey.ticket?.wait === undefined && journey.turn.wait === undefined) {
      const token = provider.current()
      const hosts = token === undefined ? undefined : discovery.knownHosts(token.tenantId)
      if (token !== undefined && hosts !== undefined) {
        this.#lastTenant = token.tenantId
        const err = attach(journey, token, hosts, body)
        if (err !== undefined) {
          fail(err)
          return
        }
        if (gate.tryEnter(journey.owner)) {
          journey.takePlace()
          done()
          return
        }
      }
    }
    this.#prepareSlowly(journey, body).then(() => { done() }, fail)
  }

  /** The same steps, waiting where they must: for earlier pipelined requests, the quota, the token, the hosts, a place. */
  async #prepareSlowly (journey: Journey, body: Buffer | undefined): Promise<void> {
    const { provider, discovery, gate } = this.#o
    const signal = journey.signal
    if (journey.turn.wait !== undefined) await journey.turn.wait
    if (journey.ticket?.wait !== undefined) {
      await journey.ticket.wait
      // Gone while it waited behind a probe or in a pace lane: nothing more is taken for it.
      if (signal.aborted === true) return
    }
    if (journey.ctx === undefined) {
      const token = provider.current() ?? await provider.getToken()
      const hosts = discovery.knownHosts(token.tenantId) ?? await discovery.hosts(token.tenantId)
      this.#lastTenant = token.tenantId
      const err = attach(journey, token, hosts, body)
      if (err !== undefined) throw err
    }
    if (!journey.holdsPlace) {
      await gate.enter(journey.owner)
      // The caller (every caller of a flight) may have gone while it waited: give the place back at once.
      if (signal.aborted === true) gate.leave(journey.owner)
      else journey.takePlace()
    }
  }

  /**
   * A refusal before anything was sent: the other members of a flight it leads get the same error; the shield's
   * is logged as `quota: shielded`.
   */
  #refused (journey: Journey, err: Error, done: Done): void {
    if (journey.share !== undefined) this.#o.sharing.end(journey.share, { kind: 'error', error: err }, journey.share.member)
    if (err instanceof ProxyError && err.code === 'rate_limited') journey.spared = 'shielded'
    done(err)
  }
}

/** Steps 7: the upstream's origin, and the request's context; an unknown origin is its error, and nothing is sent. */
function attach (journey: Journey, token: TokenSet, hosts: TenantHosts, body: Buffer | undefined): ProxyError | undefined {
  const upstream = journey.upstream
  const origin = upstreamOrigin(upstream, hosts)
  if (typeof origin !== 'string') return origin
  journey.ctx = { token, upstream, origin, hosts, body, replayed: false, upstreamStart: 0, upstreamMs: undefined, caller: journey.signal }
  return undefined
}

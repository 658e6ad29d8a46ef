/**
 * The sending stage: one call upstream with undici (the raw path and query, cleaned headers, the bearer, the
 * body, the journey's abort signal), sent once more when a GET meets a keep-alive socket the API already closed,
 * and replayed once with a fresh token after a 401. Then the shield learns of CXone's status, and the response
 * goes on to `arrived`; a failure to reach the API goes to `failed` as a row of the error table.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import type { Dispatcher } from 'undici'
import type { Clock } from '../core/clock.js'
import { clearUpstreamHeaders } from '../core/error-reply.js'
import { isStaleSocket } from '../core/net-errors.js'
import { pathOf } from '../core/paths.js'
import type { TokenProvider } from '../token/token-provider.js'
import type { QuotaGuard } from '../quota/quota.js'
import { upstreamRequestHeaders } from './headers.js'
import type { Journey, RequestContext, StallBound } from './journey.js'
import { UpstreamCall, type UpstreamAnswer } from './upstream-call.js'
import { mapUpstreamError, upstreamSettingName } from './upstream-errors.js'

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

interface SenderOptions {
  /** The profile, for naming the setting of an upstream that cannot be reached. */
  profile: string
  dispatcher: Dispatcher
  provider: TokenProvider
  quota: QuotaGuard
  clock: Clock
  upstreamTimeoutMs: number
  onUpstream401?: (() => void) | undefined
  onReplay?: (() => void) | undefined
  /** CXone's response, after any replay. */
  arrived: (request: FastifyRequest, reply: FastifyReply, journey: Journey, ctx: RequestContext, res: UpstreamAnswer) => void
  /** The API could not be reached (or the fresh token for a replay not had). */
  failed: (request: FastifyRequest, reply: FastifyReply, journey: Journey, err: Error) => void
}

export class Sender {
  readonly #o: SenderOptions
  // Routes whose 401s survived a fresh token: passed through for a while (bounded, expiring).
  readonly #notAboutTheToken: LRUCache<string, true>
  readonly #refreshBudget: TokenBucket
  // The Host of the last origin used: nearly every request goes to the same one, so one pair is the whole cache.
  #lastOrigin = ''
  #lastHost = ''
  /** A caller who stops reading is cut off after the upstream timeout without progress (journey.ts). */
  readonly #stall: StallBound

  constructor (o: SenderOptions) {
    this.#o = o
    this.#notAboutTheToken = new LRUCache<string, true>({ max: REFUSED_ROUTES_MAX, ttl: REFUSED_COOLDOWN_MS, perf: { now: o.clock.monotonic } })
    this.#refreshBudget = new TokenBucket(REFRESH_ON_401_BURST, REFRESH_ON_401_INTERVAL_MS, o.clock)
    this.#stall = { clock: o.clock, ms: o.upstreamTimeoutMs }
  }

  send (request: FastifyRequest, reply: FastifyReply, journey: Journey, ctx: RequestContext, attempt: number): void {
    // A caller who has gone is not served: nothing is sent for it (a retried POST would be a duplicate).
    if (ctx.caller.aborted === true) return
    ctx.upstreamStart = performance.now()
    this.#o.quota.sent(journey.ticket)
    const method = request.method
    // A call of its own (not a flight's, whose body sharing reads) may have a small JSON answer collected whole.
    const call = new UpstreamCall(method, ctx.caller, journey.share === undefined && method !== 'HEAD', (err, res) => {
      if (err !== null) {
        if (ctx.caller.aborted === true) return
        // A GET that meets a keep-alive socket the API already closed is sent once more.
        if (attempt === 0 && isStaleSocket(err) && (method === 'GET' || method === 'HEAD')) {
          this.send(request, reply, journey, ctx, attempt + 1)
          return
        }
        this.#o.failed(request, reply, journey, mapUpstreamError(err, ctx.origin, undefined, upstreamSettingName(this.#o.profile, ctx.upstream)))
        return
      }
      this.#received(request, reply, journey, ctx, res as UpstreamAnswer)
    })
    try {
      this.#o.dispatcher.dispatch({
        origin: ctx.origin,
        path: request.raw.url as string,
        method: method as Dispatcher.HttpMethod,
        headers: upstreamRequestHeaders(request.headers, ctx.token.accessToken, this.#hostOf(ctx.origin), request.id),
        body: ctx.body ?? null,
        headersTimeout: this.#o.upstreamTimeoutMs,
        bodyTimeout: this.#o.upstreamTimeoutMs
      }, call)
    } catch (err) {
      // What undici refuses before sending (a header it will not write, say) is this call's error.
      call.onError(err as Error)
    }
  }

  /** A 401 may be about the token: one replay with a fresh one, within the budget. */
  #received (request: FastifyRequest, reply: FastifyReply, journey: Journey, ctx: RequestContext, res: UpstreamAnswer): void {
    ctx.upstreamMs = res.headersAt - ctx.upstreamStart
    if (res.statusCode === 401) {
      const route = `${request.method} ${pathOf(request.raw.url ?? '')}`
      if (ctx.replayed) {
        // A fresh token was refused too: this 401 is not about the token (a permission, say). For a while,
        // this route's 401s go to the caller without costing a token request each.
        this.#notAboutTheToken.set(route, true)
      } else if (this.#notAboutTheToken.get(route) === undefined && this.#refreshBudget.take()) {
        this.#o.provider.invalidate(ctx.token.accessToken)
        this.#o.onUpstream401?.()
        if (ctx.body === undefined || ctx.body.length <= REPLAY_BODY_LIMIT) {
          this.#replay(request, reply, journey, ctx, res)
          return
        }
      }
    }
    this.#o.quota.answered(journey.ticket, ctx.upstream, request.raw.url ?? '', res.statusCode, res.headers['retry-after'])
    journey.answered(this.#stall)
    this.#o.arrived(request, reply, journey, ctx, res)
  }

  #replay (request: FastifyRequest, reply: FastifyReply, journey: Journey, ctx: RequestContext, res: UpstreamAnswer): void {
    res.body?.resume()
    clearUpstreamHeaders(reply)
    ctx.replayed = true
    this.#o.onReplay?.()
    this.#o.provider.getToken().then((token) => {
      ctx.token = token
      this.send(request, reply, journey, ctx, 0)
    }, (err: Error) => { this.#o.failed(request, reply, journey, err) })
  }

  #hostOf (origin: string): string {
    if (origin !== this.#lastOrigin) {
      this.#lastHost = new URL(origin).host
      this.#lastOrigin = origin
    }
    return this.#lastHost
  }
}

/** A token bucket on the clock's monotonic time: `burst` at once, then one per `intervalMs`. */
class TokenBucket {
  #tokens: number
  #at: number
  readonly #burst: number
  readonly #intervalMs: number
  readonly #clock: Clock
  constructor (burst: number, intervalMs: number, clock: Clock) {
    this.#burst = burst
    this.#tokens = burst
    this.#intervalMs = intervalMs
    this.#clock = clock
    this.#at = clock.monotonic()
  }

  take (): boolean {
    const now = this.#clock.monotonic()
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) / this.#intervalMs)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}

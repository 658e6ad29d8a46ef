import { callerField } from '../core/caller-policy.js'
import type { Caller, CallerSet } from '../core/callers.js'
import type { Clock } from '../core/clock.js'
import { ProxyError } from '../core/errors.js'

/**
 * A caller's fair share of the tenant's quota (issue 22): a token bucket (`rate`: upstream calls a second, `burst`)
 * and a count of its calls in flight upstream (`maxConcurrent`). Pure bookkeeping on an injected clock: the request
 * path takes a place only for a call that will reach CXone (a micro-cache hit or a joined flight costs nothing) and
 * releases it with the request's journey. Over its share a caller is refused at once, never queued, so its limit
 * never delays another caller and never arms the tenant-wide 429 shield.
 */

export interface LimitTicket {
  /** Ends the call's place in flight; a second call does nothing. */
  release: () => void
}

export type LimitDecision =
  /** `wouldRefuse`: shadow mode (`enforce` false): the refusal that enforcing would have made, to log and count. */
  | { readonly ok: true, readonly ticket: LimitTicket, readonly wouldRefuse?: ProxyError }
  | { readonly ok: false, readonly error: ProxyError }

interface State {
  tokens: number
  /** The monotonic time `tokens` was computed at. */
  at: number
  inFlight: number
  /** The rate the bucket was filled for: a reload that changes it starts the bucket full again. */
  rate: string
}

const NOTHING: LimitTicket = Object.freeze({ release: () => {} })

export class CallerLimits {
  readonly #clock: Clock
  readonly #states = new Map<string, State>()

  constructor (clock: Clock) {
    this.#clock = clock
  }

  /** Hook for reload: keeps each remaining caller's calls in flight, and its bucket while its rate is unchanged. */
  configure (set: CallerSet | undefined): void {
    const names = new Set(set?.callers.map((c) => `${c.profile}/${c.name}`) ?? [])
    for (const key of this.#states.keys()) if (!names.has(key) && this.#states.get(key)?.inFlight === 0) this.#states.delete(key)
    for (const c of set?.callers ?? []) {
      const s = this.#states.get(`${c.profile}/${c.name}`)
      if (s !== undefined && s.rate !== rateKey(c)) Object.assign(s, { tokens: c.rate?.burst ?? 0, at: this.#clock.monotonic(), rate: rateKey(c) })
    }
  }

  /** A place for one upstream call of this caller, or its refusal (429 caller_rate_limited with Retry-After). */
  take (c: Caller): LimitDecision {
    if (c.rate === undefined && c.maxConcurrent === undefined) return { ok: true, ticket: NOTHING }
    const s = this.#state(c)
    const error = this.#refusal(c, s)
    if (error !== undefined) return c.enforce ? { ok: false, error } : { ok: true, ticket: NOTHING, wouldRefuse: error }
    if (c.rate !== undefined) s.tokens -= 1
    s.inFlight++
    let done = false
    return {
      ok: true,
      ticket: {
        release: () => {
          if (done) return
          done = true
          s.inFlight--
        }
      }
    }
  }

  /** What the status page shows of a caller now: its calls in flight and the calls its bucket holds. */
  view (c: Caller): { inFlight: number, tokens: number | undefined } {
    const s = this.#states.get(`${c.profile}/${c.name}`)
    if (s === undefined) return { inFlight: 0, tokens: c.rate?.burst }
    this.#refill(c, s)
    return { inFlight: s.inFlight, tokens: c.rate === undefined ? undefined : Math.floor(s.tokens) }
  }

  #state (c: Caller): State {
    const key = `${c.profile}/${c.name}`
    let s = this.#states.get(key)
    if (s === undefined) {
      s = { tokens: c.rate?.burst ?? 0, at: this.#clock.monotonic(), inFlight: 0, rate: rateKey(c) }
      this.#states.set(key, s)
    } else {
      this.#refill(c, s)
    }
    return s
  }

  #refill (c: Caller, s: State): void {
    const now = this.#clock.monotonic()
    if (c.rate !== undefined) s.tokens = Math.min(c.rate.burst, s.tokens + (now - s.at) * c.rate.perSecond / 1000)
    s.at = now
  }

  #refusal (c: Caller, s: State): ProxyError | undefined {
    if (c.maxConcurrent !== undefined && s.inFlight >= c.maxConcurrent) {
      return new ProxyError('caller_rate_limited', `caller "${c.name}" has ${s.inFlight} calls in flight to CXone, its ${callerField(c, 'maxConcurrent')}: the proxy did not send this one; retry after Retry-After`, { retryAfterSec: 1 })
    }
    if (c.rate !== undefined && s.tokens < 1) {
      // The bucket holds a whole call again after (1 - tokens) / perSecond seconds.
      const retryAfterSec = Math.max(1, Math.ceil((1 - s.tokens) / c.rate.perSecond))
      return new ProxyError('caller_rate_limited', `caller "${c.name}" used its share, ${callerField(c, 'rate')} (${c.rate.perSecond} calls a second, burst ${c.rate.burst}): the proxy did not send this call to CXone; retry after ${retryAfterSec} s`, { retryAfterSec })
    }
    return undefined
  }
}

function rateKey (c: Caller): string {
  return c.rate === undefined ? '' : `${c.rate.perSecond}/${c.rate.burst}`
}

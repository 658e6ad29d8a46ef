/**
 * The 429 shield. When CXone answers 429 with Retry-After, further calls of the same profile to the same upstream
 * and API family (family.ts) are answered by the proxy itself until that time has passed: 429 `rate_limited` with
 * the remaining Retry-After. Then one request (the probe) goes through; the others of the family wait for its answer:
 *
 *   probe answered, family not armed again   the waiters go on
 *   probe answered 429 with Retry-After      armed again: the waiters get the shield's 429
 *   probe's caller gone or no answer         the longest waiter becomes the probe
 *   a waiter past PROXY_PACE_MAX_WAIT_MS     503 too_busy
 *
 * A 429 without Retry-After passes through and arms nothing; so does a Retry-After of 0 or a date already past.
 */
import type { Clock } from '../core/clock.js'
import { ProxyError } from '../core/errors.js'
import { retryAfterSeconds } from '../core/retry-after.js'
import { removeFrom, Waiting } from './waiting.js'
import { familyPath } from './family.js'

/** A longer Retry-After (or a date further away: a skewed clock, a bug) is capped here, when the shield is armed. */
export const SHIELD_MAX_SEC = 600
/** An expired family nobody has called for this long is forgotten, so the table stays as small as the traffic. */
const FORGET_AFTER_MS = SHIELD_MAX_SEC * 1000

export interface ShieldArmed {
  profile: string
  upstream: string
  family: string
  retryAfterSec: number
  /** Retry-After was longer than SHIELD_MAX_SEC. */
  capped: boolean
}

export interface ShieldOptions {
  profile: string
  /** How long a request waits behind a probe (PROXY_PACE_MAX_WAIT_MS). */
  maxWaitMs: number
  /** Requests waiting behind one probe at most; beyond, too_busy at once. */
  maxWaiting: number
  /** Monotonic time for the shield's windows, wall time for a Retry-After given as an HTTP date, timers. */
  clock: Clock
  onArmed?: (e: ShieldArmed) => void
}

interface Guard {
  readonly upstream: string
  readonly family: string
  until: number
  probe: ShieldTicket | undefined
  readonly waiters: ShieldTicket[]
}

/** One request's place with an expired shield: the probe, or a waiter behind it. */
export class ShieldTicket {
  state: 'probe' | 'waiting' | 'done'
  readonly guard: Guard
  /** A waiter's place behind the probe (undefined for the probe). */
  waiting: Waiting | undefined

  /** Settles when a waiter may go on (undefined for the probe). */
  get wait (): Promise<void> | undefined {
    return this.waiting?.promise
  }

  constructor (guard: Guard, state: 'probe' | 'waiting') {
    this.guard = guard
    this.state = state
  }
}

export class Shield {
  readonly #o: ShieldOptions
  readonly #now: () => number
  readonly #clock: Clock
  readonly #guards = new Map<string, Guard>()

  constructor (o: ShieldOptions) {
    if (!(o.maxWaitMs >= 0) || !(o.maxWaiting >= 0)) throw new TypeError('Shield needs maxWaitMs ≥ 0 and maxWaiting ≥ 0')
    this.#o = o
    this.#clock = o.clock
    this.#now = o.clock.monotonic
  }

  /**
   * Before forwarding: throws rate_limited while the family is armed; once it expired, makes this request the probe
   * or a waiter behind it. Undefined (and no work beyond one map size) when no family is shielded.
   */
  enter (upstream: string, url: string): ShieldTicket | undefined {
    if (this.#guards.size === 0) return undefined
    const guard = this.#guards.get(this.#key(upstream, familyPath(url)))
    if (guard === undefined) return undefined
    const now = this.#now()
    if (now < guard.until) throw this.#refusal(guard, now)
    if (guard.probe === undefined) {
      guard.probe = new ShieldTicket(guard, 'probe')
      return guard.probe
    }
    if (guard.waiters.length >= this.#o.maxWaiting) throw this.#busy(guard)
    const ticket = new ShieldTicket(guard, 'waiting')
    ticket.waiting = new Waiting(this.#clock, this.#o.maxWaitMs, () => {
      removeFrom(guard.waiters, ticket)
      ticket.state = 'done'
      return this.#busy(guard)
    })
    guard.waiters.push(ticket)
    return ticket
  }

  /** At CXone's answer: a 429 with Retry-After arms the family; the probe's answer settles its waiters. */
  answered (upstream: string, url: string, status: number, retryAfter: string | string[] | undefined, ticket: ShieldTicket | undefined): void {
    const sec = status === 429 ? retryAfterSeconds(retryAfter, this.#clock.now()) : undefined
    if (sec !== undefined) this.#arm(upstream, familyPath(url), sec)
    if (ticket?.state === 'probe') {
      ticket.state = 'done'
      this.#settle(ticket.guard)
    }
  }

  /** The request's caller is gone (or its answer is over): a waiter leaves the line, a probe hands over. */
  leave (ticket: ShieldTicket): void {
    const guard = ticket.guard
    if (ticket.state === 'waiting') {
      removeFrom(guard.waiters, ticket)
      ticket.state = 'done'
      ticket.waiting?.pass()
    } else if (ticket.state === 'probe') {
      ticket.state = 'done'
      guard.probe = undefined
      // Armed again meanwhile (another call's 429): the waiters get the shield's answer, none probes.
      if (this.#now() < guard.until) {
        this.#settle(guard)
        return
      }
      const next = guard.waiters.shift()
      if (next !== undefined) {
        next.state = 'probe'
        guard.probe = next
        next.waiting?.pass()
      }
    }
  }

  /** The probe was answered: armed again, the waiters get the shield's answer; else the family is free. */
  #settle (guard: Guard): void {
    guard.probe = undefined
    const now = this.#now()
    const armed = now < guard.until
    if (!armed && this.#guards.get(this.#key(guard.upstream, guard.family)) === guard) this.#guards.delete(this.#key(guard.upstream, guard.family))
    for (const waiter of guard.waiters.splice(0)) {
      waiter.state = 'done'
      if (armed) waiter.waiting?.refuse(this.#refusal(guard, now))
      else waiter.waiting?.pass()
    }
  }

  #arm (upstream: string, family: string, sec: number): void {
    const now = this.#now()
    const capped = sec > SHIELD_MAX_SEC
    const retryAfterSec = Math.min(sec, SHIELD_MAX_SEC)
    const key = this.#key(upstream, family)
    let guard = this.#guards.get(key)
    if (guard === undefined) {
      this.#forget(now)
      guard = { upstream, family, until: 0, probe: undefined, waiters: [] }
      this.#guards.set(key, guard)
    }
    guard.until = Math.max(guard.until, now + retryAfterSec * 1000)
    // A family nobody calls again is forgotten then too, so `enter` goes back to costing one map size.
    this.#clock.setTimeout(() => { this.#forget(this.#now()) }, guard.until - now + FORGET_AFTER_MS + 1)
    this.#o.onArmed?.({ profile: this.#o.profile, upstream, family, retryAfterSec, capped })
  }

  #forget (now: number): void {
    for (const [key, g] of this.#guards) {
      if (g.until + FORGET_AFTER_MS < now && g.probe === undefined && g.waiters.length === 0) this.#guards.delete(key)
    }
  }

  /** Upstream and family; each profile has its own Shield (one per forwarding plugin), so a 429 stays in its unit. */
  #key (upstream: string, family: string): string {
    return `${upstream}\n${family}`
  }

  #refusal (guard: Guard, now: number): ProxyError {
    const left = Math.max(1, Math.ceil((guard.until - now) / 1000))
    return new ProxyError('rate_limited', `CXone answered 429 Too Many Requests for ${guard.family} (upstream ${guard.upstream}); the proxy answers these calls itself for ${left} s more: retry after Retry-After`, { retryAfterSec: left })
  }

  #busy (guard: Guard): ProxyError {
    return new ProxyError('too_busy', `waited ${this.#o.maxWaitMs} ms (PROXY_PACE_MAX_WAIT_MS) behind the one request that probes ${guard.family} after a 429, with ${guard.waiters.length} others: retry after Retry-After`, { retryAfterSec: 1 })
  }
}


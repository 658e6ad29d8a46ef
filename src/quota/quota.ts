/**
 * What spares CXone's quota before the upstream gate: the 429 shield (shield.ts), then pacing (pace.ts). One object
 * per forwarding plugin, so per profile. The forwarding path calls it at four points of a request: `hold` in its
 * pipeline, `sent` when it goes upstream, `answered` at CXone's response and `leave` when the request's journey ends.
 * A named caller's own limits (issue 22: a rate limit, maxConcurrent) take the same shape: a guard in this folder, a
 * ticket the journey holds, taken in the pipeline's step after routing and given back in the journey's release.
 */
import type { PaceRule } from '../core/config.js'
import type { Clock } from '../core/clock.js'
import { Pacer, type PaceTicket, type PaceWaited } from './pace.js'
import { Shield, type ShieldArmed, type ShieldTicket } from './shield.js'

/** Requests waiting in one pace lane, or behind one shield probe, at most. */
export const QUOTA_MAX_WAITING = 1024

export interface QuotaOptions {
  profile: string
  pace: readonly PaceRule[]
  /** PROXY_PACE_MAX_WAIT_MS: the longest wait in a pace lane or behind a shield's probe. */
  maxWaitMs: number
  clock: Clock
  onShieldArmed?: (e: ShieldArmed) => void
  onPaceWait?: (e: PaceWaited) => void
}

/** One request's places: behind a shield's probe (or the probe itself), in a pace lane. */
export interface QuotaTicket {
  shield: ShieldTicket | undefined
  pace: PaceTicket | undefined
  /** Settles when the request may go on to the gate; rejects with rate_limited or too_busy. */
  readonly wait: Promise<void> | undefined
}

const ignore = (): void => {}

export class QuotaGuard {
  readonly #shield: Shield
  readonly #pacer: Pacer

  constructor (o: QuotaOptions) {
    this.#shield = new Shield({ profile: o.profile, maxWaitMs: o.maxWaitMs, maxWaiting: QUOTA_MAX_WAITING, clock: o.clock, onArmed: o.onShieldArmed })
    this.#pacer = new Pacer({ profile: o.profile, rules: o.pace, maxWaitMs: o.maxWaitMs, maxQueued: QUOTA_MAX_WAITING, clock: o.clock, onWait: o.onPaceWait })
  }

  /**
   * The shield, then the pace lane. Throws rate_limited (shielded) or too_busy (a full line) at once; undefined when
   * neither applies, which is the common case and costs a map size and a set look-up. `owner`: the request's named
   * caller ('' without callers), so that a pace lane is shared fairly between callers.
   */
  hold (method: string, url: string, upstream: string, caller: { readonly aborted?: boolean }, owner = ''): QuotaTicket | undefined {
    const shield = this.#shield.enter(upstream, url)
    if (shield?.wait !== undefined) {
      const ticket: QuotaTicket = {
        shield,
        pace: undefined,
        wait: shield.wait.then(() => {
          // Gone while it waited behind the probe: it takes no place in a pace lane.
          if (caller.aborted === true) return
          ticket.pace = this.#pacer.enter(method, url, owner)
          return ticket.pace?.wait
        })
      }
      // Awaited only after the pipelined-order wait: a rejection meanwhile is not an unhandled one.
      ticket.wait?.catch(ignore)
      return ticket
    }
    let pace: PaceTicket | undefined
    try {
      pace = this.#pacer.enter(method, url, owner)
    } catch (err) {
      // A probe refused by its pace lane hands the probe over.
      if (shield !== undefined) this.#shield.leave(shield)
      throw err
    }
    if (shield === undefined && pace === undefined) return undefined
    pace?.wait?.catch(ignore)
    return { shield, pace, wait: pace?.wait }
  }

  /** The request goes upstream now. */
  sent (ticket: QuotaTicket | undefined): void {
    if (ticket?.pace !== undefined) this.#pacer.sent(ticket.pace)
  }

  /**
   * CXone answered: the shield learns of a 429, a probe's waiters of its answer, and the pace lane is free. A lane
   * paces what CXone is asked to do: how fast the caller reads the answer is no concern of it (issue 24 #1).
   */
  answered (ticket: QuotaTicket | undefined, upstream: string, url: string, status: number, retryAfter: string | string[] | undefined): void {
    this.#shield.answered(upstream, url, status, retryAfter, ticket?.shield)
    if (ticket?.pace !== undefined) this.#pacer.leave(ticket.pace)
  }

  /** The caller's response closed: every place is given back. */
  leave (ticket: QuotaTicket | undefined): void {
    if (ticket === undefined) return
    if (ticket.shield !== undefined) this.#shield.leave(ticket.shield)
    if (ticket.pace !== undefined) this.#pacer.leave(ticket.pace)
  }
}

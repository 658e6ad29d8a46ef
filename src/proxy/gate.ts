import type { Socket } from 'node:net'
import type { Clock } from '../core/clock.js'
import { ProxyError } from '../core/errors.js'
import { removeFrom, Waiting } from '../quota/waiting.js'

export interface GateOptions {
  /** Requests in flight upstream at once (PROXY_MAX_CONCURRENT_UPSTREAM). */
  maxConcurrent: number
  /** How long a request may wait for a place before it is refused with too_busy (PROXY_QUEUE_TIMEOUT_MS). */
  queueTimeoutMs: number
  /** Waiting requests at most; beyond, too_busy at once. */
  maxQueued: number
  /** The queue's timers. */
  clock: Clock
}

interface SocketOrder {
  next: number
  /** Sequence numbers of this connection's requests not yet answered. */
  readonly pending: Set<number>
  unsafe: number
  readonly waiters: Array<{ seq: number, resolve: () => void }>
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The upstream gate, the pipeline's last step before sending (pipeline.ts): at most `maxConcurrent` requests upstream at once; more wait in a FIFO queue for a
 * bounded time, then get too_busy with Retry-After. A burst is served, a flood is refused, nobody waits forever.
 *
 * Fair between named callers (issue 22): a freed place goes to the oldest waiter of the caller holding the fewest
 * places now, so a caller with many calls queued cannot keep every place while another waits. Without callers every
 * request has the same owner (''), and this is plain FIFO.
 *
 * It also keeps a pipelined connection's unsafe requests in order: a POST/PUT/PATCH/DELETE waits until the
 * requests before it on the same connection are answered, and those after it wait for it (RFC 9112 §9.3.2).
 */
export class UpstreamGate {
  readonly #o: GateOptions
  #inFlight = 0
  readonly #queue: Waiting[] = []
  /** issue 22: each waiter's owner (its caller), and the places each owner holds. */
  readonly #owners = new Map<Waiting, string>()
  readonly #held = new Map<string, number>()
  /** The places held by requests of no named caller (owner ''). */
  #anonymous = 0
  readonly #order = new WeakMap<Socket, SocketOrder>()

  constructor (o: GateOptions) {
    if (!(o.maxConcurrent >= 1) || !(o.queueTimeoutMs >= 0) || !(o.maxQueued >= 0)) {
      throw new TypeError('UpstreamGate needs maxConcurrent ≥ 1, queueTimeoutMs ≥ 0 and maxQueued ≥ 0')
    }
    this.#o = o
  }

  /** Takes a place now (true), or says the caller must wait with `enter()` (false). `owner`: its named caller. */
  tryEnter (owner = ''): boolean {
    if (this.#inFlight < this.#o.maxConcurrent && this.#queue.length === 0) {
      this.#inFlight++
      this.#count(owner, 1)
      return true
    }
    return false
  }

  /** Waits for a place; rejects with too_busy when the queue is full or the wait is over. */
  async enter (owner = ''): Promise<void> {
    if (this.tryEnter(owner)) return
    if (this.#queue.length >= this.#o.maxQueued) throw this.#busy()
    const waiting: Waiting = new Waiting(this.#o.clock, this.#o.queueTimeoutMs, () => {
      removeFrom(this.#queue, waiting)
      this.#owners.delete(waiting)
      return this.#busy()
    })
    this.#queue.push(waiting)
    this.#owners.set(waiting, owner)
    await waiting.promise
  }

  /** Gives a place back; the oldest waiter of the owner holding the fewest places takes it. */
  leave (owner = ''): void {
    this.#count(owner, -1)
    const next = this.#fairest()
    if (next !== undefined) {
      removeFrom(this.#queue, next)
      this.#count(this.#owners.get(next) ?? '', 1)
      this.#owners.delete(next)
      next.pass()
      return
    }
    this.#inFlight--
  }

  #fairest (): Waiting | undefined {
    let best: Waiting | undefined
    let fewest = Infinity
    for (const w of this.#queue) {
      const owner = this.#owners.get(w) ?? ''
      const held = owner === '' ? this.#anonymous : this.#held.get(owner) ?? 0
      if (held < fewest) {
        best = w
        fewest = held
      }
    }
    return best
  }

  #count (owner: string, by: number): void {
    // Without named callers every request is the one owner '': a number, no Map entry made and dropped per request.
    if (owner === '') {
      this.#anonymous += by
      return
    }
    const n = (this.#held.get(owner) ?? 0) + by
    if (n <= 0) this.#held.delete(owner)
    else this.#held.set(owner, n)
  }

  /**
   * For a request on a connection with others still unanswered: a promise to wait on before forwarding when
   * either it or an earlier one is unsafe, else undefined. `answered` must be called once it is answered.
   */
  order (socket: Socket, method: string): { wait: Promise<void> | undefined, answered: () => void } {
    let s = this.#order.get(socket)
    if (s === undefined) {
      s = { next: 0, pending: new Set(), unsafe: 0, waiters: [] }
      this.#order.set(socket, s)
    }
    const state = s
    const seq = state.next++
    const unsafe = !SAFE.has(method)
    const mustWait = state.pending.size > 0 && (unsafe || state.unsafe > 0)
    state.pending.add(seq)
    if (unsafe) state.unsafe++
    const wait = mustWait ? new Promise<void>((resolve) => { state.waiters.push({ seq, resolve }) }) : undefined
    let once = false
    return {
      wait,
      answered: () => {
        if (once) return
        once = true
        state.pending.delete(seq)
        if (unsafe) state.unsafe--
        for (let i = state.waiters.length - 1; i >= 0; i--) {
          const w = state.waiters[i] as { seq: number, resolve: () => void }
          let earlierPending = false
          for (const p of state.pending) if (p < w.seq) { earlierPending = true; break }
          if (!earlierPending) {
            state.waiters.splice(i, 1)
            w.resolve()
          }
        }
      }
    }
  }

  #busy (): ProxyError {
    return new ProxyError('too_busy', `${this.#inFlight} requests are in flight upstream and ${this.#queue.length} waiting (PROXY_MAX_CONCURRENT_UPSTREAM=${this.#o.maxConcurrent}, PROXY_QUEUE_TIMEOUT_MS=${this.#o.queueTimeoutMs}): retry shortly`, { retryAfterSec: 1 })
  }
}

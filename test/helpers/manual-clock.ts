import type { Clock } from '../../src/core/clock.js'

interface Timer { at: number, fn: () => void, id: number }

/** A clock tests move by hand; timers fire when time passes them. */
export class ManualClock implements Clock {
  #now: number
  #timers: Timer[] = []
  #next = 1

  /** `earlyMs`: timers fire this much before they are due, as Node's sometimes do against Date.now(). */
  constructor (start = 1_700_000_000_000, readonly earlyMs = 0) {
    this.#now = start
  }

  now = (): number => this.#now

  /** Moves with now(): a manual clock never jumps back. */
  monotonic = (): number => this.#now

  setTimeout = (fn: () => void, ms: number): unknown => {
    // Like Node: a delay past 2^31-1 ms becomes 1 ms.
    const delay = ms > 2 ** 31 - 1 ? 1 : Math.max(0, ms)
    const t = { at: this.#now + Math.max(Math.min(delay, 1), delay - this.earlyMs), fn, id: this.#next++ }
    this.#timers.push(t)
    return t.id
  }

  clearTimeout = (handle: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== handle)
  }

  get pendingTimers (): number {
    return this.#timers.length
  }

  /** Moves time forward, firing due timers in order, letting promises settle between them. */
  async advance (ms: number): Promise<void> {
    const end = this.#now + ms
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.#timers = this.#timers.filter((t) => t !== due)
      this.#now = Math.max(this.#now, due.at)
      due.fn()
      await settle()
    }
    this.#now = end
    await settle()
  }
}

/** Lets pending promise callbacks run. */
export async function settle (): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

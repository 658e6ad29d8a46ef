/**
 * A place in a line that settles once: let through (`pass`), refused (`refuse`), or refused when its deadline
 * passes. The one shape of the upstream gate's queue (gate.ts), a 429 shield's waiters (shield.ts) and a pace
 * lane (pace.ts).
 */
import type { Clock } from '../core/clock.js'

export class Waiting {
  readonly promise: Promise<void>
  #resolve: () => void = () => {}
  #reject: (err: Error) => void = () => {}
  readonly #timer: unknown
  readonly #clock: Clock

  /** `onTimeout` takes the place out of its line and says why it was refused. */
  constructor (clock: Clock, timeoutMs: number, onTimeout: () => Error) {
    this.#clock = clock
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.#timer = clock.setTimeout(() => { this.#reject(onTimeout()) }, timeoutMs)
  }

  pass (): void {
    this.#clock.clearTimeout(this.#timer)
    this.#resolve()
  }

  refuse (err: Error): void {
    this.#clock.clearTimeout(this.#timer)
    this.#reject(err)
  }
}

/** Takes `item` out of `list`, if it is there. */
export function removeFrom<T> (list: T[], item: T): void {
  const i = list.indexOf(item)
  if (i >= 0) list.splice(i, 1)
}

/**
 * One clock for every component (issue 21): wall time for expiries and logs, a monotonic reading for
 * intervals, and timers. The composition root passes it down; tests pass a manual clock
 * (test/helpers/manual-clock.ts) and move it by hand instead of waiting on the wall clock.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (Date.now()). */
  now: () => number
  /** Milliseconds from an arbitrary origin that never jumps back (performance.now()). */
  monotonic: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

/** Wall-clock time with unref'd timers, so a pending timer never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => { clearTimeout(handle as NodeJS.Timeout) }
}

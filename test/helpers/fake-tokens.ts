import pino from 'pino'
import { ProxyError } from '../../src/core/errors.js'
import type { TokenSet } from '../../src/token/token-client.js'
import { TokenProvider, usableUntil, type TokenProviderOptions } from '../../src/token/token-provider.js'
import type { ManualClock } from './manual-clock.js'

export function tokenAt (n: number, obtainedAt: number, lifetimeSec: number): TokenSet {
  return { accessToken: `token-${n}`, tokenType: 'Bearer', lifetimeSec, obtainedAt, expiresAt: obtainedAt + lifetimeSec * 1000, fingerprint: `fp${n}`, tenantId: 't' }
}

type Step = { kind: 'token', lifetimeSec: number, delayMs?: number } | { kind: 'error', error: ProxyError, delayMs?: number }

/**
 * A token endpoint scripted step by step, timed by the manual clock: each call takes the next step
 * (the last one repeats) and answers after its delay, stamped with the clock's time on arrival.
 */
export class ScriptedEndpoint {
  calls = 0
  readonly #steps: Step[]
  constructor (readonly clock: ManualClock, steps: Step[]) {
    this.#steps = steps
  }

  obtain = async (): Promise<TokenSet> => {
    const step = this.#steps[Math.min(this.calls, this.#steps.length - 1)] as Step
    this.calls += 1
    const n = this.calls
    if ((step.delayMs ?? 0) > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, step.delayMs as number))
    if (step.kind === 'error') throw step.error
    return tokenAt(n, this.clock.now(), step.lifetimeSec)
  }
}

export function providerFor (clock: ManualClock, endpoint: ScriptedEndpoint, extra: Partial<TokenProviderOptions> = {}): TokenProvider {
  return new TokenProvider({
    obtain: endpoint.obtain,
    clock,
    log: pino({ level: 'silent' }),
    refreshAhead: 0.8,
    configErrorRetryMs: 300_000,
    random: () => 0.5,
    ...extra
  })
}

export { usableUntil }

import type { Logger } from 'pino'
import { ProxyError } from '../core/errors.js'
import type { TokenSet } from './token-client.js'
import type { Clock } from '../core/clock.js'

export type { Clock } from '../core/clock.js'

export type TokenOutcome = 'success' | 'rejected' | 'invalid_response' | 'unavailable' | 'discovery_failed'

export interface TokenProviderOptions {
  /** Discovery + token request + parsing: one attempt, throws ProxyError. */
  obtain: () => Promise<TokenSet>
  clock: Clock
  log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
  /** Fraction of the lifetime after which a background refresh starts (0.8). */
  refreshAhead: number
  /** Wait after a configuration error (invalid_client, invalid_grant, …) before trying again. */
  configErrorRetryMs: number
  backoffBaseMs?: number
  backoffMaxMs?: number
  random?: () => number
  onOutcome?: (outcome: TokenOutcome, oauthError: string | undefined, token?: TokenSet) => void
  /** Where a token came from: another replica through Redis (a fleet), or this process's own token request. */
  sourceOf?: (token: TokenSet) => 'token_endpoint' | 'fleet'
  /** Called with the token `invalidate` dropped (fleet hook: drop the shared copy too). */
  onInvalidate?: (t: TokenSet) => void
}

export const BACKOFF_BASE_MS = 1000
/**
 * The least time between the starts of two token requests, whatever asks for them (refresh, 401s, readiness):
 * a bound on what a misbehaving token endpoint or API can make the proxy send (issue 17: a storm of ~330/s).
 */
export const MIN_REQUEST_INTERVAL_MS = 500
export const BACKOFF_MAX_MS = 60_000
const MAX_SKEW_MS = 30_000
const SKEW_FRACTION = 0.05
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000
const MAX_TIMER_MS = 2 ** 31 - 1

export interface TokenStatus {
  ready: boolean
  fingerprint: string | undefined
  expiresInSec: number | undefined
  ageSec: number | undefined
  failures: number
  nextAttemptInSec: number | undefined
  lastError: { code: string, message: string } | undefined
  /** Epoch ms, for the status page: when the held token arrived, expires and is due for refresh. */
  obtainedAt: number | undefined
  expiresAt: number | undefined
  refreshAt: number | undefined
  /** Epoch ms of the last failed token request, while its error is the current one. */
  lastErrorAt: number | undefined
}

/**
 * Holds the bearer: single flight, refresh ahead in the background, invalidate-on-401, backoff with jitter.
 * A token is handed out only while it is valid (with a small skew for the request's travel time).
 */
export class TokenProvider {
  readonly #o: Required<Omit<TokenProviderOptions, 'onOutcome' | 'onInvalidate' | 'sourceOf'>> & Pick<TokenProviderOptions, 'onOutcome' | 'onInvalidate' | 'sourceOf'>
  #current: TokenSet | undefined
  #inflight: Promise<TokenSet> | undefined
  #failures = 0
  #nextAttemptAt = 0
  #lastError: ProxyError | undefined
  #lastErrorAt: number | undefined
  #lastLoggedKey: string | undefined
  #timer: unknown
  #stopped = false
  /** How long the last successful token request took. */
  #lastFetchMs = 0
  /** When the last token request started. */
  #lastRequestAt = -Infinity
  /** Bumped by each replaceObtain: an answer to a request made before is for credentials no longer configured. */
  #generation = 0

  constructor (opts: TokenProviderOptions) {
    this.#o = {
      backoffBaseMs: BACKOFF_BASE_MS,
      backoffMaxMs: BACKOFF_MAX_MS,
      random: Math.random,
      ...opts
    }
  }

  /** Starts the first fetch in the background; failures are retried, not fatal. */
  start (): void {
    this.#refreshInBackground()
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** The current token if it is valid now, without waiting. Starts a refresh when one is due. */
  current (): TokenSet | undefined {
    const t = this.#current
    if (t === undefined) return undefined
    const now = this.#o.clock.now()
    if (now >= usableUntil(t)) return undefined
    if (now >= this.#refreshAt(t)) this.#refreshInBackground()
    return t
  }

  /** A valid token: the current one, or the result of the one request in flight. */
  async getToken (): Promise<TokenSet> {
    const t = this.current()
    if (t !== undefined) return t
    if (this.#inflight !== undefined) return await this.#inflight
    const now = this.#o.clock.now()
    if (this.#lastError !== undefined && now < this.#nextAttemptAt) {
      throw this.#lastError.withRetryAfter(Math.max(1, Math.ceil((this.#nextAttemptAt - now) / 1000)))
    }
    return await this.#fetch()
  }

  /**
   * A new way to obtain tokens (rotated credentials, new endpoints): a token is fetched with it at once while the
   * current one keeps serving, and replaces it when it arrives. If it is refused, the current token stays in use
   * while it is valid, and the failure is reported (logs, readiness once the token expires) as any other.
   * `dropCurrent`: the current token may not serve meanwhile (its credentials were replaced and so were the hosts
   * it would be sent to); callers wait for the new one.
   */
  replaceObtain (obtain: () => Promise<TokenSet>, opts: { dropCurrent?: boolean } = {}): void {
    this.#o.obtain = obtain
    this.#generation++
    this.#failures = 0
    this.#nextAttemptAt = 0
    this.#lastLoggedKey = undefined
    if (opts.dropCurrent === true) this.#current = undefined
    // A request already on its way used the old way: its answer is dropped and it asks again (#obtainCurrent).
    this.#refreshInBackground()
  }

  /** Drops `accessToken` if it is still the current one (an upstream answered 401 to it). */
  invalidate (accessToken: string): boolean {
    if (this.#current === undefined || this.#current.accessToken !== accessToken) return false
    this.#o.log.warn({ token: this.#current.fingerprint }, 'upstream rejected the token: fetching a new one')
    this.#o.onInvalidate?.(this.#current)
    this.#current = undefined
    return true
  }

  /** For readiness: starts a fetch when none is running and the provider is not backing off. */
  poke (): void {
    if (this.current() === undefined) this.#refreshInBackground()
  }

  status (): TokenStatus {
    const now = this.#o.clock.now()
    const t = this.current()
    return {
      ready: t !== undefined,
      fingerprint: t?.fingerprint,
      expiresInSec: t === undefined ? undefined : Math.max(0, (t.expiresAt - now) / 1000),
      ageSec: t === undefined ? undefined : (now - t.obtainedAt) / 1000,
      failures: this.#failures,
      nextAttemptInSec: this.#nextAttemptAt > now ? (this.#nextAttemptAt - now) / 1000 : undefined,
      lastError: this.#lastError === undefined ? undefined : { code: this.#lastError.code, message: this.#lastError.message },
      obtainedAt: t?.obtainedAt,
      expiresAt: t?.expiresAt,
      refreshAt: t === undefined ? undefined : this.#refreshAt(t),
      lastErrorAt: this.#lastError === undefined ? undefined : this.#lastErrorAt
    }
  }

  /**
   * `refreshAhead` of the lifetime, counted from when the answer arrived; earlier if the token endpoint is
   * so slow that a refresh started then would not land while the token is still usable.
   */
  #refreshAt (t: TokenSet): number {
    return Math.min(t.obtainedAt + t.lifetimeSec * 1000 * this.#o.refreshAhead, usableUntil(t) - 2 * this.#lastFetchMs)
  }

  #refreshInBackground (): void {
    if (this.#stopped || this.#inflight !== undefined || this.#o.clock.now() < this.#nextAttemptAt) return
    this.#fetch().catch(() => { /* logged and scheduled in #fetch */ })
  }

  #fetch (): Promise<TokenSet> {
    const attempt = (async () => {
      try {
        const t = await this.#obtainCurrent()
        this.#current = t
        this.#failures = 0
        this.#nextAttemptAt = 0
        this.#lastError = undefined
        this.#lastLoggedKey = undefined
        this.#o.onOutcome?.('success', undefined, t)
        const source = this.#o.sourceOf?.(t) ?? 'token_endpoint'
        this.#o.log.info({ token: t.fingerprint, expiresInSec: t.lifetimeSec, tenantId: t.tenantId, source }, source === 'fleet' ? 'token taken from the fleet (Redis): another replica requested it' : 'token obtained')
        this.#schedule(this.#refreshAt(t))
        return t
      } catch (e) {
        const err = e instanceof ProxyError ? e : new ProxyError('token_unavailable', `token request failed: ${(e as Error).message}`, { cause: e })
        const delay = this.#backoff(err)
        this.#nextAttemptAt = this.#o.clock.now() + delay
        this.#lastError = err
        this.#lastErrorAt = this.#o.clock.now()
        this.#o.onOutcome?.(outcomeOf(err), err.oauthError)
        this.#logFailure(err, delay)
        this.#schedule(this.#nextAttemptAt)
        throw err.withRetryAfter(Math.max(1, Math.ceil(delay / 1000)))
      } finally {
        this.#inflight = undefined
      }
    })()
    this.#inflight = attempt
    return attempt
  }

  /**
   * One token request with the credentials in force when its answer arrives: an answer (or a failure) to a request
   * made before a reload replaced them is dropped, and the request is made again (issue 24: a late answer for
   * credentials no longer configured must never be installed, nor handed to a caller waiting for it).
   */
  async #obtainCurrent (): Promise<TokenSet> {
    for (;;) {
      const wait = this.#lastRequestAt + MIN_REQUEST_INTERVAL_MS - this.#o.clock.now()
      if (wait > 0) await new Promise<void>((resolve) => { this.#o.clock.setTimeout(resolve, wait) })
      const generation = this.#generation
      const started = this.#o.clock.now()
      this.#lastRequestAt = started
      try {
        const t = await this.#o.obtain()
        if (generation === this.#generation) {
          this.#lastFetchMs = this.#o.clock.now() - started
          return t
        }
        this.#o.log.info({ token: t.fingerprint, tenantId: t.tenantId }, 'token dropped: a reload replaced the credentials it was requested with; asking with the new ones')
      } catch (err) {
        if (generation === this.#generation) throw err
        this.#o.log.info({ code: (err as ProxyError).code }, 'token request for replaced credentials failed: ignored; asking with the new ones')
      }
    }
  }

  #backoff (err: ProxyError): number {
    this.#failures += 1
    if (err.code === 'token_rejected') {
      return this.#o.configErrorRetryMs * (0.9 + 0.2 * this.#o.random())
    }
    const exp = Math.min(this.#o.backoffMaxMs, this.#o.backoffBaseMs * 2 ** (this.#failures - 1))
    const jittered = exp / 2 + (exp / 2) * this.#o.random()
    const retryAfter = Math.min(MAX_RETRY_AFTER_MS, (err.retryAfterSec ?? 0) * 1000)
    return Math.max(jittered, retryAfter)
  }

  #schedule (at: number): void {
    if (this.#stopped) return
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer)
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.#o.clock.now()))
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined
      // Timers may fire a little early (and past 2^31-1 ms, at once): what is not due yet is re-armed.
      const now = this.#o.clock.now()
      if (now < this.#nextAttemptAt) {
        this.#schedule(this.#nextAttemptAt)
        return
      }
      const t = this.#current
      if (t !== undefined && now < Math.min(this.#refreshAt(t), usableUntil(t))) {
        this.#schedule(this.#refreshAt(t))
        return
      }
      this.#refreshInBackground()
    }, delay)
  }

  #logFailure (err: ProxyError, delayMs: number): void {
    const key = `${err.code}:${err.oauthError ?? ''}`
    const fields = { code: err.code, oauthError: err.oauthError, failures: this.#failures, retryInSec: Math.round(delayMs / 1000), hasValidToken: this.current() !== undefined }
    if (key !== this.#lastLoggedKey) {
      this.#lastLoggedKey = key
      this.#o.log.error(fields, err.message)
    } else {
      this.#o.log.warn(fields, `token request still failing: ${err.code}`)
    }
  }
}

/** The moment a token stops being handed out: its expiry less a skew for the request's travel. */
export function usableUntil (t: TokenSet): number {
  return t.expiresAt - Math.min(MAX_SKEW_MS, t.lifetimeSec * 1000 * SKEW_FRACTION)
}

function outcomeOf (err: ProxyError): TokenOutcome {
  switch (err.code) {
    case 'token_rejected': return 'rejected'
    case 'token_invalid_response': return 'invalid_response'
    case 'discovery_failed': return 'discovery_failed'
    default: return 'unavailable'
  }
}

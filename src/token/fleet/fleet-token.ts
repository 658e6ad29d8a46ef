import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { TokenSet } from '../token-client.js'
import { usableUntil } from '../token-provider.js'
import type { FleetKeys } from './fleet-keys.js'
import { RedisUnavailable, type FleetObserver, type RedisLink } from './redis-link.js'
import { openToken, sealToken } from './sealed-token.js'
import type { Clock } from '../../core/clock.js'

/** Between two looks at Redis while another replica holds the lock. */
export const LOCK_POLL_MS = 50
/** The lock outlives the token request's timeout by this much, so a live holder never loses it. */
export const LOCK_MARGIN_MS = 1000
/** Fingerprints of tokens an upstream refused, never taken from Redis again. */
const REMEMBERED_REJECTIONS = 8

// Deletes only if the value is still the one given: a lock we own, a token that is still current.
const COMPARE_AND_DELETE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"

export interface FleetTokenOptions {
  link: RedisLink
  /** The Redis keys for the token endpoint in use (discovered or configured). */
  keys: () => Promise<FleetKeys>
  /** One real token request (discovery + request + judgement), as without a fleet. */
  obtain: () => Promise<TokenSet>
  /** Wall time for the token's freshness, and the timer of the lock's polling. */
  clock: Clock
  refreshAhead: number
  /** How long a replica may hold the fleet's lock: the token request's timeout plus a margin. */
  lockTtlMs: number
  log: Pick<Logger, 'info' | 'warn' | 'debug'>
  observer: FleetObserver
}

interface Shared { keys: FleetKeys, value: string }

/**
 * The token provider's `obtain` for a fleet: a token in Redis that this replica has not had yet and that is not
 * due for refresh is taken as is; otherwise one replica takes the lock and asks the token endpoint while the
 * others wait for its token. Without Redis, or when Redis fails, it is the plain `obtain`.
 */
export class FleetToken {
  readonly #o: FleetTokenOptions
  /** The last token handed to the provider: a due refresh must not get the same one back. */
  #held: TokenSet | undefined
  readonly #stored = new WeakMap<TokenSet, Shared>()
  readonly #fromFleet = new WeakSet<TokenSet>()
  readonly #rejected: string[] = []
  #invalidating: Promise<void> = Promise.resolve()

  constructor (opts: FleetTokenOptions) {
    this.#o = opts
  }

  readonly obtain = async (): Promise<TokenSet> => {
    await this.#invalidating
    if (!await this.#o.link.usable()) return await this.#local()
    let keys: FleetKeys
    try {
      keys = await this.#o.keys()
    } catch {
      // Discovery failed: the plain attempt reports it exactly as without a fleet.
      return await this.#local()
    }
    try {
      return await this.#viaFleet(keys)
    } catch (err) {
      if (err instanceof RedisUnavailable) return await this.#local()
      throw err
    }
  }

  /** True when `t` came from Redis rather than from this replica's own token request. */
  fromFleet (t: TokenSet): boolean {
    return this.#fromFleet.has(t)
  }

  /** An upstream refused `t`: drop the shared copy only if it is still the current one (compare-and-delete). */
  readonly invalidate = (t: TokenSet): void => {
    this.#rejected.push(t.fingerprint)
    if (this.#rejected.length > REMEMBERED_REJECTIONS) this.#rejected.shift()
    const shared = this.#stored.get(t)
    if (shared === undefined) return
    this.#invalidating = this.#o.link.run('invalidate', async (c) => {
      await c.eval(COMPARE_AND_DELETE, { keys: [shared.keys.tokenKey], arguments: [shared.value] })
    }).catch(() => { /* counted and logged by the link; the value expires with the token */ })
  }

  async #viaFleet (keys: FleetKeys): Promise<TokenSet> {
    const startedAt = this.#o.clock.now()
    const giveUpAt = startedAt + this.#o.lockTtlMs + 2 * LOCK_POLL_MS
    let waited = false
    for (;;) {
      const found = await this.#read(keys)
      if (found !== undefined) {
        this.#o.observer.sharedHit()
        return found
      }
      const owner = randomBytes(16).toString('hex')
      const locked = await this.#o.link.run('lock', async (c) => await c.set(keys.lockKey, owner, { condition: 'NX', expiration: { type: 'PX', value: this.#o.lockTtlMs } }))
      if (locked === 'OK') {
        if (waited) {
          this.#o.observer.lockTakeover()
          this.#o.log.warn({ waitedMs: Math.round(this.#o.clock.now() - startedAt) }, 'the fleet lock was released without a new token: this replica asks the token endpoint')
        }
        return await this.#fetchHoldingLock(keys, owner)
      }
      if (!waited) {
        waited = true
        this.#o.observer.lockWait()
      }
      if (this.#o.clock.now() >= giveUpAt) {
        this.#o.log.warn({ waitedMs: this.#o.lockTtlMs }, 'no token from the fleet within the lock\'s lifetime: this replica asks the token endpoint')
        return await this.#local()
      }
      await new Promise<void>((resolve) => { this.#o.clock.setTimeout(resolve, LOCK_POLL_MS) })
    }
  }

  async #fetchHoldingLock (keys: FleetKeys, owner: string): Promise<TokenSet> {
    try {
      // Stored by the previous holder between our look and our lock?
      const found = await this.#read(keys).catch(() => undefined)
      if (found !== undefined) {
        this.#o.observer.sharedHit()
        return found
      }
      const t = await this.#local()
      await this.#store(keys, t).catch(() => { /* counted and logged by the link; the token is used locally */ })
      return t
    } finally {
      this.#o.link.run('unlock', async (c) => await c.eval(COMPARE_AND_DELETE, { keys: [keys.lockKey], arguments: [owner] }))
        .catch(() => { /* the lock expires by itself */ })
    }
  }

  /** A shared token worth taking: readable with our secrets, not ours already, not refused, not due for refresh. */
  async #read (keys: FleetKeys): Promise<TokenSet | undefined> {
    const value = await this.#o.link.run('read', async (c) => await c.get(keys.tokenKey))
    if (value === null) return undefined
    const t = openToken(value, keys.encryptionKey, keys.tokenKey)
    if (t === undefined) {
      this.#o.log.warn({ key: keys.tokenKey }, 'the shared token in Redis cannot be decrypted with this credential (other secrets, or altered): ignored, it will be replaced')
      return undefined
    }
    if (t.fingerprint === this.#held?.fingerprint || this.#rejected.includes(t.fingerprint)) return undefined
    if (this.#o.clock.now() >= this.#freshUntil(t)) return undefined
    this.#stored.set(t, { keys, value })
    this.#fromFleet.add(t)
    this.#held = t
    this.#o.log.debug({ token: t.fingerprint }, 'token taken from the fleet')
    return t
  }

  async #store (keys: FleetKeys, t: TokenSet): Promise<void> {
    const ttl = Math.floor(usableUntil(t) - this.#o.clock.now())
    if (ttl <= 0) return
    const value = sealToken(t, keys.encryptionKey, keys.tokenKey)
    await this.#o.link.run('write', async (c) => await c.set(keys.tokenKey, value, { expiration: { type: 'PX', value: ttl } }))
    this.#stored.set(t, { keys, value })
  }

  async #local (): Promise<TokenSet> {
    const t = await this.#o.obtain()
    this.#o.observer.ownToken()
    this.#held = t
    return t
  }

  /** Where the provider would start refreshing it: past this, a replica refreshes instead of taking it. */
  #freshUntil (t: TokenSet): number {
    return Math.min(t.obtainedAt + t.lifetimeSec * 1000 * this.#o.refreshAhead, usableUntil(t))
  }
}

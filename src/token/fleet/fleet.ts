import type { Logger } from 'pino'
import type { Clock } from '../../core/clock.js'
import type { Credentials, Settings } from '../../core/config.js'
import type { TokenSet } from '../token-client.js'
import { deriveFleetKeys, type FleetKeys } from './fleet-keys.js'
import { FleetToken, LOCK_MARGIN_MS } from './fleet-token.js'
import { RedisLink, type FleetObserver } from './redis-link.js'
import type { RedisTarget } from './redis-url.js'

export type { FleetObserver } from './redis-link.js'

export interface FleetOptions {
  target: RedisTarget
  settings: Pick<Settings, 'grantType' | 'scope' | 'refreshAhead' | 'tokenTimeoutMs' | 'redisCommandTimeoutMs'>
  credentials: Credentials
  /** The token endpoint in use: configured, or discovered from the issuer. */
  tokenEndpoint: () => Promise<string>
  /** One plain token request, as without a fleet. */
  obtain: () => Promise<TokenSet>
  clock: Clock
  log: Pick<Logger, 'info' | 'warn' | 'debug'>
  observer: FleetObserver
}

export interface Fleet {
  /** The token provider's `obtain`. */
  obtain: () => Promise<TokenSet>
  /** The token provider's `onInvalidate`: an upstream refused this token. */
  invalidate: (t: TokenSet) => void
  /** True when the token came from Redis (no token request was made for it). */
  fromFleet: (t: TokenSet) => boolean
  close: () => void
}

/** Shares one token per credential across every replica that reaches the same Redis (issue 14). */
export function startFleet (o: FleetOptions): Fleet {
  const link = new RedisLink({ target: o.target, commandTimeoutMs: o.settings.redisCommandTimeoutMs, clock: o.clock, log: o.log, observer: o.observer })
  const keysByUrl = new Map<string, FleetKeys>()
  const keys = async (): Promise<FleetKeys> => {
    const tokenUrl = await o.tokenEndpoint()
    let k = keysByUrl.get(tokenUrl)
    if (k === undefined) {
      const c = o.credentials
      k = deriveFleetKeys({ tokenUrl, clientId: c.clientId, grantType: o.settings.grantType, scope: o.settings.scope, clientSecret: c.clientSecret, accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret })
      keysByUrl.set(tokenUrl, k)
    }
    return k
  }
  const token = new FleetToken({
    link,
    keys,
    obtain: o.obtain,
    clock: o.clock,
    refreshAhead: o.settings.refreshAhead,
    lockTtlMs: o.settings.tokenTimeoutMs + LOCK_MARGIN_MS,
    log: o.log,
    observer: o.observer
  })
  o.log.info({ redis: o.target.masked }, 'fleet mode: the token is shared through Redis')
  return {
    obtain: token.obtain,
    invalidate: token.invalidate,
    fromFleet: (t) => token.fromFleet(t),
    close: () => { link.close() }
  }
}

import { ConfigError } from '../../core/errors.js'
import { readSecret } from '../../core/secrets.js'
import { PROCESS_SECRET_VARS } from '../../core/settings.js'

const REDIS_URL_VAR = PROCESS_SECRET_VARS.redisUrl

export interface RedisTarget {
  /** The URL as given: may carry a password, never logged. */
  readonly url: string
  /** The URL with any user and password masked, safe to log. */
  readonly masked: string
  readonly tls: boolean
  readonly hostname: string
}

/**
 * REDIS_URL or REDIS_URL_FILE, read like the other secrets (it may carry a password).
 * Undefined when neither is set: the proxy then keeps its token to itself, as before fleets existed.
 */
export function readRedisTarget (env: NodeJS.ProcessEnv): RedisTarget | undefined {
  const secret = readSecret(env, REDIS_URL_VAR)
  if (secret === undefined) return undefined
  const from = secret.origin === 'file' ? `${REDIS_URL_VAR}_FILE` : REDIS_URL_VAR
  let url: URL
  try {
    url = new URL(secret.value.trim())
  } catch {
    throw new ConfigError(`${from} is not a URL: write it like redis://:password@redis:6379/0 or rediss://user:password@redis.example.com:6380`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`${from} uses ${url.protocol}// : use redis:// or rediss:// (TLS, certificate verified)`)
  }
  if (url.hostname === '') throw new ConfigError(`${from} has no host: write it like redis://redis:6379`)
  if (url.pathname.length > 1 && !/^\/\d+$/.test(url.pathname)) {
    throw new ConfigError(`${from} names database "${url.pathname.slice(1)}": the path must be a database number such as /0`)
  }
  return Object.freeze({
    url: url.href,
    masked: maskRedisUrl(url),
    tls: url.protocol === 'rediss:',
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1')
  })
}

/** `rediss://***:***@host:6380/0`: who and what is hidden, where is kept. */
function maskRedisUrl (url: URL): string {
  const auth = url.username !== '' || url.password !== '' ? `${url.username !== '' ? '***' : ''}${url.password !== '' ? ':***' : ''}@` : ''
  return `${url.protocol}//${auth}${url.host}${url.pathname === '/' ? '' : url.pathname}`
}

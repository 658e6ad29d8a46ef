import { createClient, type RedisClientType } from '@redis/client'
import type { Logger } from 'pino'
import type { RedisTarget } from './redis-url.js'
import type { Clock } from '../../core/clock.js'
import { SETTINGS } from '../../core/settings.js'

/** What the fleet reports; `src/ops/fleet-metrics.ts` turns it into Prometheus metrics. */
export interface FleetObserver {
  redisUp: (up: boolean) => void
  redisError: (operation: RedisOperation) => void
  sharedHit: () => void
  /** This replica asked the token endpoint itself (it held the lock, or Redis was away). */
  ownToken: () => void
  lockWait: () => void
  lockTakeover: () => void
}

export type RedisOperation = 'read' | 'write' | 'lock' | 'unlock' | 'invalidate' | 'connection'

/** Thrown by `RedisLink.run` when Redis is down, slow or refusing: the caller goes on without Redis. */
export class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable'
}

export const CONNECT_TIMEOUT_MS = 3000
export const RECONNECT_BASE_MS = 100
export const RECONNECT_MAX_MS = 5000
/** A new replica waits up to this long for its first connection before fetching a token on its own. */
export const FIRST_CONNECT_WAIT_MS = 2000
/** Errors that say Redis is not there at all: a new replica stops waiting for it at once. */
const NOT_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])

export type RedisClient = RedisClientType

export interface RedisLinkOptions {
  target: RedisTarget
  /** Per command: past it the command counts as failed and the request goes on without Redis. */
  commandTimeoutMs: number
  /** Times the first connection's wait and each command's deadline. */
  clock: Clock
  log: Pick<Logger, 'info' | 'warn' | 'debug'>
  observer: FleetObserver
  random?: () => number
}

/**
 * One connection to Redis that never makes a request fail: no offline queue (a command while disconnected
 * fails at once), a deadline per command, reconnection with capped exponential backoff and jitter forever,
 * and one log line per change of state.
 */
export class RedisLink {
  readonly #o: RedisLinkOptions
  readonly #client: RedisClient
  #up: boolean | undefined
  #everReady = false
  /** Settles once the first connection is made, refused, or FIRST_CONNECT_WAIT_MS has passed since first needed. */
  #firstAttempt: Promise<void> | undefined
  #closed = false

  constructor (opts: RedisLinkOptions) {
    this.#o = opts
    const random = opts.random ?? Math.random
    const t = opts.target
    const common = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Never gives up: Redis coming back resumes sharing without a restart.
      reconnectStrategy: (retries: number) => Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(retries, 16)) * (0.5 + random() / 2)
    }
    this.#client = createClient({
      url: t.url,
      disableOfflineQueue: true,
      // node-redis's own `timeout` covers only the wait before a command is written (and would answer a
      // hung server's commands never): `run` applies the deadline to the whole round trip.
      socket: t.tls ? { ...common, tls: true, rejectUnauthorized: true, servername: t.hostname } : { ...common, tls: false }
    }) as RedisClient
    this.#client.on('error', (err: Error) => { this.#down('connection', err) })
    this.#client.on('ready', () => { this.#setUp() })
    this.#client.connect().catch(() => { /* reported through 'error'; reconnection goes on */ })
  }

  /** True when commands can be sent; a new link waits (bounded) for its first connection attempt. */
  async usable (): Promise<boolean> {
    if (this.#client.isReady) return true
    // Only once, and only before the first connection: later, a Redis that is away costs a request nothing.
    if (!this.#closed && !this.#everReady) await (this.#firstAttempt ??= this.#waitForFirstConnection())
    return this.#client.isReady
  }

  async #waitForFirstConnection (): Promise<void> {
    await new Promise<void>((resolve) => {
      // A connection timeout on a busy machine is retried within the wait; a refusal ends it at once.
      const onError = (err: NodeJS.ErrnoException): void => { if (err.code !== undefined && NOT_THERE.has(err.code)) done() }
      const done = (): void => {
        this.#o.clock.clearTimeout(timer)
        this.#client.off('error', onError).off('ready', done)
        resolve()
      }
      const timer = this.#o.clock.setTimeout(done, FIRST_CONNECT_WAIT_MS)
      this.#client.on('error', onError).on('ready', done)
    })
  }

  /** Runs one command under the deadline; any failure becomes RedisUnavailable (counted, logged on change). */
  async run<T> (operation: RedisOperation, command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (!this.#client.isReady) throw new RedisUnavailable('Redis is not connected')
    const pending = command(this.#client)
    let timer: unknown
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = this.#o.clock.setTimeout(() => { reject(new RedisUnavailable(`no answer within ${this.#o.commandTimeoutMs} ms (${SETTINGS.redisCommandTimeoutMs.env})`)) }, this.#o.commandTimeoutMs)
    })
    try {
      const result = await Promise.race([pending, deadline])
      this.#setUp()
      return result
    } catch (err) {
      // A late answer or failure of the abandoned command is of no interest.
      pending.catch(() => {})
      this.#down(operation, err as Error)
      throw err instanceof RedisUnavailable ? err : new RedisUnavailable((err as Error).message, { cause: err })
    } finally {
      this.#o.clock.clearTimeout(timer)
    }
  }

  close (): void {
    this.#closed = true
    if (this.#client.isOpen) this.#client.destroy()
  }

  #setUp (): void {
    this.#everReady = true
    if (this.#up === true) return
    const was = this.#up
    this.#up = true
    this.#o.observer.redisUp(true)
    this.#o.log.info({ redis: this.#o.target.masked }, was === false
      ? 'Redis is reachable again: tokens are shared across the fleet'
      : 'Redis connected: tokens are shared across the fleet')
  }

  #down (operation: RedisOperation, err: Error): void {
    this.#o.observer.redisError(operation)
    if (this.#up === false || this.#closed) return
    this.#up = false
    this.#o.observer.redisUp(false)
    this.#o.log.warn({ redis: this.#o.target.masked, operation, reason: describe(err) },
      'Redis is unreachable or slow: each replica fetches and holds its own token until it is back')
  }
}

/** The reason without anything from the URL (node-redis messages name host and port, never the password). */
function describe (err: Error): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/.test(code)) return `TLS certificate not trusted (${code}): add your CA with NODE_EXTRA_CA_CERTS`
  if (/WRONGPASS|NOAUTH/.test(err.message)) return 'authentication refused: check the user and password in REDIS_URL'
  return code !== undefined ? `${code}: ${err.message}` : err.message
}

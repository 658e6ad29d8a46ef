/**
 * The components one process shares among its profiles: the logger, the clock, the token endpoint's fetch, the
 * upstream pool, the upstream places and request bodies held, the observability, the answer hooks and the quit
 * signal; and how they close.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { AnswerHooks } from '../core/error-reply.js'
import { systemClock, type Clock } from '../core/clock.js'
import type { Config, Settings } from '../core/config.js'
import { createDispatcher, createTokenFetch, type FetchFn } from '../core/http-clients.js'
import { createLogger } from '../core/log.js'
import { fleetMetrics } from '../ops/fleet-metrics.js'
import type { Metrics } from '../ops/metrics.js'
import { createObservability, type Observability } from '../ops/observability.js'
import { quitSignal, type QuitSignal } from '../ops/quit.js'
import { BodyBuffer } from '../proxy/body.js'
import { UpstreamGate } from '../proxy/gate.js'
import type { FleetObserver } from '../token/fleet/fleet.js'
import type { TokenProvider } from '../token/token-provider.js'

export interface AppDeps {
  fetch?: FetchFn
  clock?: Clock
  logger?: Logger
  dispatcher?: Dispatcher
  env?: NodeJS.ProcessEnv
}

export interface ProcessParts {
  /** The process-wide settings (the default profile's). */
  readonly s: Readonly<Settings>
  readonly logger: Logger
  readonly env: NodeJS.ProcessEnv
  readonly clock: Clock
  readonly tokenFetch: { fetch: FetchFn, close: () => Promise<void> }
  readonly dispatcher: Dispatcher
  readonly gate: UpstreamGate
  readonly bodies: BodyBuffer
  readonly observability: Observability
  readonly metrics: Metrics
  readonly hooks: AnswerHooks
  readonly quit: QuitSignal
  /** The fleet's metrics, registered the first time a profile starts a fleet. */
  readonly fleetObserver: () => FleetObserver
}

/** Requests waiting for a place upstream at most: a cold-start burst waits its turn, a flood is refused at once. */
const MAX_QUEUED = 4096
/** While draining, idle keep-alive sockets are closed this often rather than after keepAliveTimeout. */
const DRAIN_SWEEP_MS = 100

/** `tokens`: every profile's token provider, read when metrics are collected. */
export function createProcessParts (config: Config, deps: AppDeps, tokens: () => ReadonlyArray<{ name: string, provider: TokenProvider }>): ProcessParts {
  const s = config.settings
  const logger = deps.logger ?? createLogger(s.logLevel)
  const env = deps.env ?? process.env
  const clock = deps.clock ?? systemClock
  const observability = createObservability(logger, tokens, clock.now)
  const { metrics } = observability
  let fleetObserver: FleetObserver | undefined
  return {
    s,
    logger,
    env,
    clock,
    tokenFetch: deps.fetch !== undefined ? { fetch: deps.fetch, close: async () => {} } : createTokenFetch(env),
    dispatcher: deps.dispatcher ?? createDispatcher(s, env),
    // Process-wide: the upstream places (no more in flight than there are connections: undici would queue the rest
    // with no bound on the wait) and the request bodies held, whatever the profile.
    gate: new UpstreamGate({ maxConcurrent: Math.min(s.maxConcurrentUpstream, s.upstreamConnections), queueTimeoutMs: s.queueTimeoutMs, maxQueued: MAX_QUEUED, clock }),
    bodies: new BodyBuffer({ maxBytes: s.maxBodyBytes, maxBufferedBytes: s.maxBufferedBytes, timeoutMs: s.bodyTimeoutMs }),
    observability,
    metrics,
    hooks: {
      rejected: (code) => { metrics.rejected(code) },
      answered: (err, request) => {
        metrics.activity.error({ reqId: request.id, method: request.method, path: (request.raw.url ?? '').split('?', 1)[0] as string, status: err.status, code: err.code, message: err.message })
      }
    },
    quit: quitSignal(),
    fleetObserver: () => { fleetObserver ??= fleetMetrics(metrics.registry); return fleetObserver }
  }
}

/** Closes the listeners (requests in flight finish), then the upstream pool and the token endpoint's fetch. */
export async function closeListeners (parts: ProcessParts, apps: readonly FastifyInstance[], admin: FastifyInstance | undefined): Promise<void> {
  // Keep-alive sockets that go idle while draining are closed at once, not after keepAliveTimeout.
  const sweep = setInterval(() => { for (const app of apps) app.server.closeIdleConnections() }, DRAIN_SWEEP_MS)
  try {
    await Promise.all([...apps.map(async (app) => { await app.close() }), admin?.close()])
    await parts.dispatcher.close().catch(() => { /* already closed */ })
    await parts.tokenFetch.close()
  } finally {
    clearInterval(sweep)
  }
}

/** Cuts what is still open: every connection, in and out. */
export function abortListeners (parts: ProcessParts, apps: readonly FastifyInstance[], admin: FastifyInstance | undefined): void {
  for (const app of apps) app.server.closeAllConnections()
  admin?.server.closeAllConnections()
  parts.dispatcher.destroy().catch(() => { /* already destroyed */ })
}

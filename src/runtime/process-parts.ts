/**
 * The components one process shares among its profiles: the logger, the clock, the token endpoint's fetch, the
 * upstream pool, the upstream places and request bodies held, the observability, the answer hooks and the quit
 * signal; and how they close.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { AnswerHooks } from '../core/error-reply.js'
import { systemClock, type Clock } from '../core/clock.js'
import type { Config, Settings } from '../core/config.js'
import { createDispatcher, createTokenFetch, type FetchFn } from '../core/http-clients.js'
import { createLogger } from '../core/log.js'
import { fleetMetrics } from '../ops/fleet-metrics.js'
import type { Metrics, MetricsProfile } from '../ops/metrics.js'
import type { ErrorEntry } from '../ops/activity.js'
import { createObservability, type Observability } from '../ops/observability.js'
import { quitSignal, type QuitSignal } from '../ops/quit.js'
import { BodyBuffer } from '../proxy/body.js'
import { UpstreamGate } from '../proxy/gate.js'
import type { FleetObserver } from '../token/fleet/fleet.js'
import { createPlaceholderKey } from '../token/placeholder.js'
import type { Identify } from '../proxy/local-grants.js'

export interface AppDeps {
  fetch?: FetchFn
  clock?: Clock
  logger?: Logger
  dispatcher?: Dispatcher
  env?: NodeJS.ProcessEnv
  /** issue 23 → 22: a profile's callers, who identify themselves at its local token endpoint. Default: none. */
  identify?: (profile: string) => Identify | undefined
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
  /** A listener's answer hooks: its refusals are counted under its profile (ADMIN_PROFILE for the admin listener). */
  readonly hooksFor: (profile: string) => AnswerHooks
  readonly quit: QuitSignal
  /** A profile's fleet metrics, registered the first time a profile starts a fleet. */
  readonly fleetObserver: (profile: string) => FleetObserver
  /** issue 23: signs placeholder tokens; in memory only, one per process (a placeholder works on the replica that issued it). */
  readonly placeholderKey: Buffer
  readonly identify: AppDeps['identify']
}

/** Requests waiting for a place upstream at most: a cold-start burst waits its turn, a flood is refused at once. */
const MAX_QUEUED = 4096
/** While draining, idle keep-alive sockets are closed this often rather than after keepAliveTimeout. */
const DRAIN_SWEEP_MS = 100

/** `profiles`: every profile's token provider and upstreams, read when metrics are collected. */
export function createProcessParts (config: Config, deps: AppDeps, profiles: () => readonly MetricsProfile[]): ProcessParts {
  const s = config.settings
  const logger = deps.logger ?? createLogger(s.logLevel)
  const env = deps.env ?? process.env
  const clock = deps.clock ?? systemClock
  const observability = createObservability(logger, profiles, clock.now)
  const { metrics } = observability
  let fleetFor: ((profile: string) => FleetObserver) | undefined
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
    hooksFor: (profile) => ({
      rejected: (code) => { metrics.rejected(code, profile) },
      answered: (err, request) => { metrics.activity.error(errorEntry(err, request)) }
    }),
    quit: quitSignal(),
    fleetObserver: (profile) => { fleetFor ??= fleetMetrics(metrics.registry); return fleetFor(profile) },
    placeholderKey: createPlaceholderKey(),
    identify: deps.identify
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

/** An error answer as the status page lists it: never its query, which can carry customer data. */
export function errorEntry (err: { status: number, code: string, message: string }, request: FastifyRequest): Omit<ErrorEntry, 'at'> {
  return { reqId: request.id, method: request.method, path: (request.raw.url ?? '').split('?', 1)[0] as string, status: err.status, code: err.code, message: err.message }
}

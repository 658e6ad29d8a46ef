import type { Logger } from 'pino'
import type { Credentials, Settings } from '../core/config.js'
import { DEFAULT_PROFILE, settingName } from '../core/settings.js'
import { UPSTREAM_SETTINGS } from '../core/routing.js'
import type { FetchFn } from '../core/http-clients.js'
import type { ProxyError } from '../core/errors.js'
import { Discovery } from './discovery.js'
import { createObtain } from './obtain.js'
import { TokenProvider, type Clock, type TokenOutcome } from './token-provider.js'
import type { TokenSet } from './token-client.js'
import type { Fleet, FleetObserver } from './fleet/fleet.js'
import { readRedisTarget } from './fleet/redis-url.js'

type Endpoints = Pick<Settings, 'issuer' | 'tokenUrl' | 'apiUrl' | 'uiUrl' | 'digitalUrl'>
const CREDENTIAL_FIELDS = ['clientId', 'clientSecret', 'accessKeyId', 'accessKeySecret'] as const

export interface TokenLayerDeps {
  /** The profile (business unit) this token is for: messages name its own settings. */
  profile?: string
  fetch: FetchFn
  clock: Clock
  logger: Logger
  /** The environment, for REDIS_URL: with it the token is shared by a fleet through Redis. */
  env: NodeJS.ProcessEnv
  /** The fleet's metrics (Redis up, shared-token hits, lock waits and takeovers): registered only when a fleet starts. */
  fleetObserver: () => FleetObserver
  onOutcome?: (outcome: TokenOutcome, oauthError: string | undefined) => void
}

/** One credential's token: discovery, the provider, and their lifecycle. A second credential is one more call. */
export interface TokenLayer {
  readonly provider: TokenProvider
  readonly discovery: Discovery
  /** Starts the first fetch in the background. */
  start: () => void
  /** New credentials or endpoints (a reload): a token is fetched with them while the current one keeps serving. */
  reconfigure: (s: Settings, credentials: Credentials) => void
  /** Stops the refresh timers and the fleet's Redis link. */
  close: () => void
}

export async function createTokenLayer (s: Settings, credentials: Credentials, deps: TokenLayerDeps): Promise<TokenLayer> {
  const { logger } = deps
  const endpointsOf = (x: Settings): Endpoints => ({ issuer: x.issuer, tokenUrl: x.tokenUrl, apiUrl: x.apiUrl, uiUrl: x.uiUrl, digitalUrl: x.digitalUrl })
  let endpoints = endpointsOf(s)
  const discovery = new Discovery({
    ...endpoints,
    fetch: deps.fetch,
    timeoutMs: s.tokenTimeoutMs,
    nameOf: (key) => settingName(deps.profile ?? DEFAULT_PROFILE, key),
    onDiscovered: (what, value) => {
      if (what === 'token_endpoint') logger.info({ tokenUrl: { value, from: 'discovered' } }, `token endpoint discovered from ${endpoints.issuer}`)
      else logger.info({ upstream: what, [UPSTREAM_SETTINGS[what]]: { value, from: 'discovered' } }, `${what === 'api' ? 'API origin' : `${what} upstream`} discovered from ${endpoints.issuer}: ${value}`)
    },
    onUnresolved: (upstream, problem) => {
      logger.warn({ upstream, code: problem.code }, `requests routed to the ${upstream} upstream will be answered 502: ${problem.message}`)
    }
  })
  const obtainWith = (settings: Settings, c: Credentials): () => Promise<TokenSet> => createObtain(settings, c, discovery, deps.fetch, deps.clock.now, (err) => {
    logger.warn({ code: (err as ProxyError).code }, `a token was obtained but requests cannot be forwarded: ${(err as Error).message}`)
  })
  // With REDIS_URL the token is shared through Redis (issue 14); the Redis client is loaded only then.
  const redisTarget = readRedisTarget(deps.env)
  const kit = redisTarget === undefined
    ? undefined
    : { fleet: await import('./fleet/fleet.js'), target: redisTarget, observer: deps.fleetObserver() }
  const fleetWith = (settings: Settings, c: Credentials, obtain: () => Promise<TokenSet>): Fleet | undefined => kit?.fleet.startFleet({
    target: kit.target, settings, credentials: c, tokenEndpoint: async () => await discovery.tokenEndpoint(), obtain, clock: deps.clock, log: logger, observer: kit.observer
  })
  let held = credentials
  const firstObtain = obtainWith(s, credentials)
  let fleet = fleetWith(s, credentials, firstObtain)
  const provider = new TokenProvider({
    obtain: fleet?.obtain ?? firstObtain,
    clock: deps.clock,
    log: logger,
    refreshAhead: s.refreshAhead,
    configErrorRetryMs: s.configErrorRetrySec * 1000,
    sourceOf: (t) => fleet?.fromFleet(t) === true ? 'fleet' : 'token_endpoint',
    // A token taken from the fleet's Redis was not requested by this replica: it is not counted as a token request.
    onOutcome: (outcome, oauthError, t) => { if (t === undefined || fleet?.fromFleet(t) !== true) deps.onOutcome?.(outcome, oauthError) },
    onInvalidate: (t) => { fleet?.invalidate(t) }
  })
  return {
    provider,
    discovery,
    start: () => { provider.start() },
    reconfigure: (settings, c) => {
      // Rotated credentials keep what was discovered; new endpoints forget it.
      const next = endpointsOf(settings)
      const moved = JSON.stringify(next) !== JSON.stringify(endpoints)
      if (moved) {
        endpoints = next
        discovery.reconfigure(endpoints)
      }
      const replaced = CREDENTIAL_FIELDS.some((k) => c[k] !== held[k])
      held = c
      // New credentials are a new fleet key: the old link is closed, the new one shares among the replicas that have them.
      fleet?.close()
      const obtain = obtainWith(settings, c)
      fleet = fleetWith(settings, c, obtain)
      // The old credential's token may go on serving its own hosts, never new ones (issue 24).
      provider.replaceObtain(fleet?.obtain ?? obtain, { dropCurrent: replaced && moved })
    },
    close: () => {
      provider.stop()
      fleet?.close()
    }
  }
}

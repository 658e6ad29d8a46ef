import type { Logger } from 'pino'
import type { Credentials, Settings } from '../core/config.js'
import type { FetchFn } from '../core/http-clients.js'
import type { ProxyError } from '../core/errors.js'
import { Discovery } from './discovery.js'
import { createObtain } from './obtain.js'
import { TokenProvider, type Clock, type TokenOutcome } from './token-provider.js'
import type { TokenSet } from './token-client.js'

export interface TokenLayerDeps {
  fetch: FetchFn
  clock: Clock
  logger: Logger
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
  /** Stops the refresh timers. */
  close: () => void
}

export function createTokenLayer (s: Settings, credentials: Credentials, deps: TokenLayerDeps): TokenLayer {
  const { logger } = deps
  const discovery = new Discovery({
    issuer: s.issuer,
    tokenUrl: s.tokenUrl,
    apiUrl: s.apiUrl,
    fetch: deps.fetch,
    timeoutMs: s.tokenTimeoutMs,
    onDiscovered: (what, value) => {
      const field = what === 'token_endpoint' ? 'tokenUrl' : 'apiUrl'
      logger.info({ [field]: { value, from: 'discovered' } }, `${what === 'token_endpoint' ? 'token endpoint' : 'API origin'} discovered from ${s.issuer}`)
    }
  })
  const obtainWith = (settings: Settings, c: Credentials): () => Promise<TokenSet> => createObtain(settings, c, discovery, deps.fetch, deps.clock.now, (err) => {
    logger.warn({ code: (err as ProxyError).code }, `a token was obtained but requests cannot be forwarded: ${(err as Error).message}`)
  })
  const provider = new TokenProvider({
    obtain: obtainWith(s, credentials),
    clock: deps.clock,
    log: logger,
    refreshAhead: s.refreshAhead,
    configErrorRetryMs: s.configErrorRetrySec * 1000,
    ...(deps.onOutcome !== undefined ? { onOutcome: deps.onOutcome } : {})
  })
  return {
    provider,
    discovery,
    start: () => { provider.start() },
    reconfigure: (settings, c) => {
      discovery.reconfigure({ issuer: settings.issuer, tokenUrl: settings.tokenUrl, apiUrl: settings.apiUrl })
      provider.replaceObtain(obtainWith(settings, c))
    },
    close: () => { provider.stop() }
  }
}

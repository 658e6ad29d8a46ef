import { LRUCache } from 'lru-cache'
import { ProxyError, type ErrorCode } from '../core/errors.js'
import { isSafeOrigin } from '../core/net.js'
import type { FetchFn } from '../core/http-clients.js'
import { describeNetworkError } from '../core/net-errors.js'
import { AnswerTooLargeError, MAX_AUTH_ANSWER_BYTES, readTextCapped } from './capped-body.js'

export interface DiscoveryOptions {
  issuer: string
  tokenUrl: string | undefined
  apiUrl: string | undefined
  fetch: FetchFn
  timeoutMs: number
  /** The clock for the cache's time-to-live (performance.now by default). */
  now?: () => number
  /** Told once per discovered value, for the log. */
  onDiscovered?: (what: 'token_endpoint' | 'api_origin', value: string) => void
}

const API_ORIGIN_TTL_MS = 60 * 60 * 1000

/**
 * Finds the token endpoint (`{issuer}/.well-known/openid-configuration`) and the API origin
 * (`{issuer}/.well-known/cxone-configuration?tenantId=…` → api_endpoint), unless configured. Both cached;
 * concurrent lookups share one request.
 */
export class Discovery {
  #opts: DiscoveryOptions
  #tokenEndpoint: Promise<string> | undefined
  readonly #apiOrigins: LRUCache<string, string>
  #staticApiOrigin: string | undefined

  constructor (opts: DiscoveryOptions) {
    this.#opts = opts
    this.#staticApiOrigin = opts.apiUrl === undefined ? undefined : new URL(opts.apiUrl).origin
    this.#apiOrigins = new LRUCache<string, string>({
      max: 64,
      ttl: API_ORIGIN_TTL_MS,
      // Stale while revalidating: an expired origin keeps serving while it is looked up again, and a
      // failed look-up keeps the one known.
      allowStale: true,
      noDeleteOnStaleGet: true,
      allowStaleOnFetchRejection: true,
      ...(opts.now !== undefined ? { perf: { now: opts.now } } : {}),
      fetchMethod: async (tenantId) => await this.#fetchApiOrigin(tenantId)
    })
  }

  get issuer (): string {
    return this.#opts.issuer
  }

  /** New endpoints (a reload): what was discovered from the old ones is forgotten. */
  reconfigure (endpoints: Pick<DiscoveryOptions, 'issuer' | 'tokenUrl' | 'apiUrl'>): void {
    this.#opts = { ...this.#opts, ...endpoints }
    this.#staticApiOrigin = endpoints.apiUrl === undefined ? undefined : new URL(endpoints.apiUrl).origin
    this.#tokenEndpoint = undefined
    this.#apiOrigins.clear()
  }

  async tokenEndpoint (): Promise<string> {
    if (this.#opts.tokenUrl !== undefined) return this.#opts.tokenUrl
    this.#tokenEndpoint ??= this.#fetchTokenEndpoint().catch((err: unknown) => {
      this.#tokenEndpoint = undefined
      throw err
    })
    return await this.#tokenEndpoint
  }

  /** The API origin if it is known without I/O (configured, or discovered and cached): the per-request path. */
  knownApiOrigin (tenantId: string | undefined): string | undefined {
    if (this.#staticApiOrigin !== undefined) return this.#staticApiOrigin
    if (tenantId === undefined) return undefined
    const origin = this.#apiOrigins.get(tenantId)
    if (origin !== undefined && this.#apiOrigins.getRemainingTTL(tenantId) <= 0) {
      this.#apiOrigins.fetch(tenantId).catch(() => { /* the known origin stays in use */ })
    }
    return origin
  }

  /** Why the API origin is not known for this tenant: null when it is (or needs no discovery). */
  async apiOriginProblem (tenantId: string | undefined): Promise<ProxyError | null> {
    if (this.knownApiOrigin(tenantId) !== undefined) return null
    try {
      await this.apiOrigin(tenantId)
      return null
    } catch (err) {
      return err instanceof ProxyError ? err : new ProxyError('discovery_failed', `API discovery failed: ${(err as Error).message}`, { cause: err })
    }
  }

  /** The API origin for a tenant (the access token's tenantId claim). */
  async apiOrigin (tenantId: string | undefined): Promise<string> {
    if (this.#staticApiOrigin !== undefined) return this.#staticApiOrigin
    if (tenantId === undefined) {
      throw new ProxyError('discovery_failed', 'the access token carries no tenantId claim, so the API host cannot be discovered: set CXONE_API_URL (for example https://api-na1.niceincontact.com)')
    }
    // Only a known (stale) origin may hide a failed look-up; without one the caller gets the look-up's reason.
    const known = this.#apiOrigins.peek(tenantId, { allowStale: true }) !== undefined
    const origin = await this.#apiOrigins.fetch(tenantId, { allowStaleOnFetchRejection: known })
    if (origin === undefined) throw new ProxyError('discovery_failed', 'API discovery returned nothing: set CXONE_API_URL')
    return origin
  }

  async #fetchTokenEndpoint (): Promise<string> {
    const url = `${this.#opts.issuer}/.well-known/openid-configuration`
    const doc = await this.#getJson(url, 'token_unavailable', 'issuer discovery', 'set CXONE_TOKEN_URL to skip discovery, or check CXONE_ISSUER')
    const endpoint = doc.token_endpoint
    if (typeof endpoint !== 'string') {
      throw new ProxyError('token_invalid_response', `${url} has no token_endpoint: check CXONE_ISSUER, or set CXONE_TOKEN_URL`)
    }
    const checked = this.#checkOrigin(endpoint, url, 'token_endpoint', 'token_invalid_response')
    this.#opts.onDiscovered?.('token_endpoint', checked)
    return checked
  }

  async #fetchApiOrigin (tenantId: string): Promise<string> {
    const url = `${this.#opts.issuer}/.well-known/cxone-configuration?tenantId=${encodeURIComponent(tenantId)}`
    const doc = await this.#getJson(url, 'discovery_failed', 'API discovery', 'set CXONE_API_URL (for example https://api-na1.niceincontact.com)')
    const endpoint = doc.api_endpoint
    if (typeof endpoint !== 'string') {
      throw new ProxyError('discovery_failed', `${url} has no api_endpoint: set CXONE_API_URL`)
    }
    const origin = new URL(this.#checkOrigin(endpoint, url, 'api_endpoint', 'discovery_failed')).origin
    this.#opts.onDiscovered?.('api_origin', origin)
    return origin
  }

  #checkOrigin (value: string, from: string, field: string, code: ErrorCode): string {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new ProxyError(code, `${from} gave ${field}="${value}", which is not a URL`)
    }
    if (!isSafeOrigin(url)) {
      throw new ProxyError(code, `${from} gave ${field}=${value}: plain http off loopback is refused; set ${field === 'api_endpoint' ? 'CXONE_API_URL' : 'CXONE_TOKEN_URL'} to an https:// URL`)
    }
    return value
  }

  async #getJson (url: string, code: ErrorCode, what: string, fix: string): Promise<Record<string, unknown>> {
    let res: Response
    let text: string
    try {
      res = await this.#opts.fetch(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#opts.timeoutMs)
      })
      text = await readTextCapped(res, MAX_AUTH_ANSWER_BYTES)
    } catch (err) {
      if (err instanceof AnswerTooLargeError) {
        throw new ProxyError(code === 'token_unavailable' ? 'token_invalid_response' : code, `${what} at ${url} answered with more than ${err.limit / 1024} KiB (a discovery document is a few KB), so the answer was not read; ${fix}`, { cause: err })
      }
      throw new ProxyError(code, `${what} at ${url} failed: ${describeNetworkError(err, this.#opts.timeoutMs)}; ${fix}`, { cause: err })
    }
    if (res.status !== 200) {
      throw new ProxyError(code, `${what} at ${url} answered ${res.status}; ${fix}`)
    }
    try {
      const doc: unknown = JSON.parse(text)
      if (typeof doc === 'object' && doc !== null) return doc as Record<string, unknown>
    } catch {
      // fall through to the error below
    }
    throw new ProxyError(code === 'token_unavailable' ? 'token_invalid_response' : code, `${what} at ${url} did not answer JSON; ${fix}`)
  }
}

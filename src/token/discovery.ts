import { LRUCache } from 'lru-cache'
import { ProxyError, type ErrorCode } from '../core/errors.js'
import { isSafeOrigin } from '../core/net.js'
import type { FetchFn } from '../core/http-clients.js'
import { describeNetworkError } from '../core/net-errors.js'
import { NAMED_UPSTREAMS, UPSTREAM_SETTINGS, type NamedUpstream, type SettingNamer } from '../core/routing.js'
import { DEFAULT_PROFILE, SETTINGS, settingName } from '../core/settings.js'
import { AnswerTooLargeError, MAX_AUTH_ANSWER_BYTES, readTextCapped } from './capped-body.js'

export interface DiscoveryOptions {
  issuer: string
  tokenUrl: string | undefined
  apiUrl: string | undefined
  /** The UserHub host (ui_endpoint), when set statically. */
  uiUrl?: string | undefined
  /** The Digital Engagement host (https://api-de-{area}.{domain}), when set statically. */
  digitalUrl?: string | undefined
  fetch: FetchFn
  timeoutMs: number
  /** The clock for the cache's time-to-live (performance.now by default). */
  now?: () => number
  /** Told once per discovered value, for the log: the token endpoint or an upstream's origin. */
  onDiscovered?: (what: 'token_endpoint' | NamedUpstream, value: string) => void
  /** How the fixes in messages name a setting (a profile's own: `profiles.<name>.apiUrl`); the variables by default. */
  nameOf?: SettingNamer
  /** Told once per discovered document that leaves an upstream unresolved, for the log. */
  onUnresolved?: (upstream: NamedUpstream, problem: ProxyError) => void
}

/** Each named upstream's origin for one tenant, or why it cannot be used. */
export type TenantHosts = Readonly<Record<NamedUpstream, string | ProxyError>>

const API_ORIGIN_TTL_MS = 60 * 60 * 1000
/** The default profile's names for settings: their environment variables. */
const defaultName: SettingNamer = (key) => settingName(DEFAULT_PROFILE, key)

/** An example of each upstream's origin, for the fixes in messages: the settings' own examples. */
const exampleOf = (name: NamedUpstream): string => SETTINGS[UPSTREAM_SETTINGS[name]].example
/** What `cxone-configuration` names each upstream by (digital is built from two fields). */
const UPSTREAM_FIELDS: Readonly<Record<NamedUpstream, string>> = { api: 'api_endpoint', ui: 'ui_endpoint', digital: 'area and domain' }
const MAX_TENANTS = 64
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i
const DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i

/**
 * Finds the token endpoint (`{issuer}/.well-known/openid-configuration`) and each upstream's origin
 * (`{issuer}/.well-known/cxone-configuration?tenantId=…` → api_endpoint, ui_endpoint, and area + domain for
 * Digital Engagement), unless configured. Both cached; concurrent lookups share one request. With CXONE_API_URL
 * set nothing is discovered: the other upstreams then need their own settings.
 */
export class Discovery {
  #opts: DiscoveryOptions
  #tokenEndpoint: Promise<string> | undefined
  readonly #hosts: LRUCache<string, TenantHosts>
  /** Set when nothing is discovered (CXONE_API_URL): every upstream is what its setting says. */
  #staticHosts: TenantHosts | undefined
  /** issue 23: each tenant's cxone-configuration scalar fields (area, cluster, domain, tenantId, the URLs…). */
  readonly #fields = new Map<string, Readonly<Record<string, string | number | boolean>>>()

  constructor (opts: DiscoveryOptions) {
    this.#opts = opts
    this.#staticHosts = staticHosts(opts)
    this.#hosts = new LRUCache<string, TenantHosts>({
      max: MAX_TENANTS,
      ttl: API_ORIGIN_TTL_MS,
      // Stale while revalidating: expired hosts keep serving while they are looked up again, and a
      // failed look-up keeps the ones known.
      allowStale: true,
      noDeleteOnStaleGet: true,
      allowStaleOnFetchRejection: true,
      ...(opts.now !== undefined ? { perf: { now: opts.now } } : {}),
      fetchMethod: async (tenantId) => await this.#fetchHosts(tenantId)
    })
  }

  get issuer (): string {
    return this.#opts.issuer
  }

  /** A setting's name as the operator sets it. */
  #name (key: Parameters<SettingNamer>[0]): string {
    return (this.#opts.nameOf ?? defaultName)(key)
  }

  /** True when the API host is configured rather than discovered. */
  get isStatic (): boolean {
    return this.#staticHosts !== undefined
  }

  /** New endpoints (a reload): what was discovered from the old ones is forgotten. */
  reconfigure (endpoints: Pick<DiscoveryOptions, 'issuer' | 'tokenUrl' | 'apiUrl' | 'uiUrl' | 'digitalUrl'>): void {
    this.#opts = { ...this.#opts, ...endpoints }
    this.#staticHosts = staticHosts(this.#opts)
    this.#tokenEndpoint = undefined
    this.#hosts.clear()
    this.#fields.clear()
  }

  async tokenEndpoint (): Promise<string> {
    if (this.#opts.tokenUrl !== undefined) return this.#opts.tokenUrl
    this.#tokenEndpoint ??= this.#fetchTokenEndpoint().catch((err: unknown) => {
      this.#tokenEndpoint = undefined
      throw err
    })
    return await this.#tokenEndpoint
  }

  /** The upstreams set by their settings, known before any token: the start-up line and readiness show them. */
  get configuredHosts (): Partial<TenantHosts> {
    const out: Partial<Record<NamedUpstream, string>> = {}
    const urls: Record<NamedUpstream, string | undefined> = { api: this.#opts.apiUrl, ui: this.#opts.uiUrl, digital: this.#opts.digitalUrl }
    for (const name of NAMED_UPSTREAMS) {
      const origin = originOf(urls[name])
      if (origin !== undefined) out[name] = origin
    }
    return out
  }

  /** The tenant's upstreams if known without I/O (configured, or discovered and cached): the per-request path. */
  knownHosts (tenantId: string | undefined): TenantHosts | undefined {
    if (this.#staticHosts !== undefined) return this.#staticHosts
    if (tenantId === undefined) return undefined
    const hosts = this.#hosts.get(tenantId)
    if (hosts !== undefined && this.#hosts.getRemainingTTL(tenantId) <= 0) {
      this.#hosts.fetch(tenantId).catch(() => { /* the known hosts stay in use */ })
    }
    return hosts
  }

  /** The tenant's upstreams, discovered when needed (the access token's tenantId claim). */
  async hosts (tenantId: string | undefined): Promise<TenantHosts> {
    if (this.#staticHosts !== undefined) return this.#staticHosts
    if (tenantId === undefined) {
      throw new ProxyError('discovery_failed', `the access token carries no tenantId claim, so the API host cannot be discovered: set ${this.#name('apiUrl')} (for example https://api-na1.niceincontact.com)`)
    }
    // Only known (stale) hosts may hide a failed look-up; without them the caller gets the look-up's reason.
    const known = this.#hosts.peek(tenantId, { allowStale: true }) !== undefined
    const hosts = await this.#hosts.fetch(tenantId, { allowStaleOnFetchRejection: known })
    if (hosts === undefined) throw new ProxyError('discovery_failed', `API discovery returned nothing: set ${this.#name('apiUrl')}`)
    return hosts
  }

  /** The tenant's discovered scalar fields, if discovered (none when CXONE_API_URL is set). */
  tenantFields (tenantId: string | undefined): Readonly<Record<string, string | number | boolean>> | undefined {
    return tenantId === undefined ? undefined : this.#fields.get(tenantId)
  }

  /** The API origin if it is known without I/O. */
  knownApiOrigin (tenantId: string | undefined): string | undefined {
    const api = this.knownHosts(tenantId)?.api
    return typeof api === 'string' ? api : undefined
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
    const api = (await this.hosts(tenantId)).api
    if (typeof api !== 'string') throw api
    return api
  }

  async #fetchTokenEndpoint (): Promise<string> {
    const url = `${this.#opts.issuer}/.well-known/openid-configuration`
    const doc = await this.#getJson(url, 'token_unavailable', 'issuer discovery', `set ${this.#name('tokenUrl')} to skip discovery, or check ${this.#name('issuer')}`)
    const endpoint = doc.token_endpoint
    if (typeof endpoint !== 'string') {
      throw new ProxyError('token_invalid_response', `${url} has no token_endpoint: check ${this.#name('issuer')}, or set ${this.#name('tokenUrl')}`)
    }
    const checked = this.#checkOrigin(endpoint, url, 'token_endpoint', 'token_invalid_response')
    this.#opts.onDiscovered?.('token_endpoint', checked)
    return checked
  }

  async #fetchHosts (tenantId: string): Promise<TenantHosts> {
    const url = `${this.#opts.issuer}/.well-known/cxone-configuration?tenantId=${encodeURIComponent(tenantId)}`
    const doc = await this.#getJson(url, 'discovery_failed', 'API discovery', `set ${this.#name('apiUrl')} (for example https://api-na1.niceincontact.com)`)
    keepFields(this.#fields, tenantId, doc)
    const configured = this.configuredHosts
    const found: Record<NamedUpstream, () => string | ProxyError> = {
      api: () => this.#discoveredOrigin('api', doc.api_endpoint, url),
      ui: () => this.#discoveredOrigin('ui', doc.ui_endpoint, url),
      digital: () => this.#digitalOrigin(doc, url)
    }
    const hosts = {} as Record<NamedUpstream, string | ProxyError>
    for (const name of NAMED_UPSTREAMS) {
      // A host set by its setting is not discovered: it is neither taken from the document nor logged as found.
      const set = configured[name]
      if (set !== undefined) {
        hosts[name] = set
        continue
      }
      const h = found[name]()
      hosts[name] = h
      if (typeof h === 'string') this.#opts.onDiscovered?.(name, h)
      else this.#opts.onUnresolved?.(name, h)
    }
    return Object.freeze(hosts)
  }

  /** An origin from a discovered field, or why it cannot be used (missing, not a URL, plain http off loopback). */
  #discoveredOrigin (name: NamedUpstream, value: unknown, from: string): string | ProxyError {
    const field = UPSTREAM_FIELDS[name]
    const setting = this.#name(UPSTREAM_SETTINGS[name])
    const fix = `set ${setting} (for example ${exampleOf(name)})`
    if (typeof value !== 'string' || value === '') {
      return new ProxyError('upstream_not_configured', `the ${name} upstream is not known: ${from} has no ${field}; ${fix}`)
    }
    let parsed: URL
    try {
      parsed = new URL(value)
    } catch {
      return new ProxyError('upstream_not_configured', `the ${name} upstream is not known: ${from} gave ${field}="${value}", which is not a URL; ${fix}`)
    }
    if (!isSafeOrigin(parsed) || parsed.username !== '' || parsed.password !== '') {
      return new ProxyError('upstream_not_configured', `the ${name} upstream is refused: ${from} gave ${field}=${value}, and plain http off loopback is refused; ${setting} overrides it: set it to an https:// URL`)
    }
    return parsed.origin
  }

  /** Digital Engagement lives on https://api-de-{area}.{domain} (NICE's agent SDK). */
  #digitalOrigin (doc: Record<string, unknown>, from: string): string | ProxyError {
    const { area, domain } = doc
    if (typeof area !== 'string' || !LABEL.test(area) || typeof domain !== 'string' || !DOMAIN.test(domain)) {
      const bad = typeof area !== 'string' || !LABEL.test(area) ? `area=${JSON.stringify(area ?? null)}` : `domain=${JSON.stringify(domain ?? null)}`
      return new ProxyError('upstream_not_configured', `the digital upstream is not known: ${from} gave ${bad}, and the Digital Engagement host is built as https://api-de-{area}.{domain}; set ${this.#name('digitalUrl')} (for example ${exampleOf('digital')})`)
    }
    return `https://api-de-${area.toLowerCase()}.${domain.toLowerCase()}`
  }

  #checkOrigin (value: string, from: string, field: string, code: ErrorCode): string {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new ProxyError(code, `${from} gave ${field}="${value}", which is not a URL`)
    }
    if (!isSafeOrigin(url)) {
      throw new ProxyError(code, `${from} gave ${field}=${value}: plain http off loopback is refused; set ${this.#name(field === 'api_endpoint' ? 'apiUrl' : 'tokenUrl')} to an https:// URL`)
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

/** Bounded like the hosts cache: the oldest tenant's fields go first. */
function keepFields (fields: Map<string, Readonly<Record<string, string | number | boolean>>>, tenantId: string, doc: Record<string, unknown>): void {
  const kept: Record<string, string | number | boolean> = {}
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') kept[k] = v
  }
  fields.delete(tenantId)
  fields.set(tenantId, Object.freeze(kept))
  if (fields.size > MAX_TENANTS) fields.delete(fields.keys().next().value as string)
}

function originOf (url: string | undefined): string | undefined {
  return url === undefined ? undefined : new URL(url).origin
}

/** With CXONE_API_URL nothing is discovered: each upstream is its setting, or an error naming the setting. */
function staticHosts (opts: DiscoveryOptions): TenantHosts | undefined {
  if (opts.apiUrl === undefined) return undefined
  const nameOf = opts.nameOf ?? defaultName
  const missing = (name: NamedUpstream): ProxyError => new ProxyError('upstream_not_configured',
    `the ${name} upstream is not configured: ${nameOf('apiUrl')} is set, so no host is discovered; set ${nameOf(UPSTREAM_SETTINGS[name])} (for example ${exampleOf(name)})`)
  return Object.freeze({
    api: new URL(opts.apiUrl).origin,
    ui: originOf(opts.uiUrl) ?? missing('ui'),
    digital: originOf(opts.digitalUrl) ?? missing('digital')
  })
}

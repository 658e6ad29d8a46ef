import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { judgeTokenRequest, type SimulatorCredentials, type SimulatorTenant, type TokenEndpointRules } from './token-endpoint.js'
import { realtimeAnswer } from './api.js'

/** Demo credentials: shaped like CXone's (UUID client id, access keys ending in `=`). Not secrets. */
export const DEMO_CREDENTIALS: SimulatorCredentials = Object.freeze({
  clientId: '067ed166-8c0f-4e3a-9a1c-5b0c2d3e4f50',
  clientSecret: 'SimulatorClientSecret0123456789ab',
  accessKeyId: 'SIMKEYID7XQ2M4T9L0P3R8W6Z1V5B',
  accessKeySecret: 'U2ltdWxhdG9yQWNjZXNzS2V5U2VjcmV0MDEyMzQ1Njc4OWFiY2RlZg=='
})

export const DEMO_TENANT_ID = '11eb0a1c-2b3d-4e5f-8a9b-0c1d2e3f4a5b'

/** A second business unit for `otherTenants`: its own app, access key and tenant. Not secrets. */
export const DEMO_TENANT_TWO: SimulatorTenant = Object.freeze({
  credentials: Object.freeze({
    clientId: '5a7c2e91-3b4d-4f6a-8c2e-9d0f1a2b3c4d',
    clientSecret: 'SimulatorSecondClientSecret456789',
    accessKeyId: 'SIMKEYTWO4HR8N2Q6D1K5S9F3J7C0',
    accessKeySecret: 'U2ltdWxhdG9yU2Vjb25kQWNjZXNzS2V5U2VjcmV0MDEyMzQ1Njc4OQ=='
  }),
  tenantId: '22fc1b2d-3c4e-4f60-9bac-1d2e3f4a5b6c'
})

export type TokenFault =
  | { kind: 'status', status: number, retryAfter?: string, body?: string, contentType?: string }
  | { kind: 'html' }
  | { kind: 'empty' }
  | { kind: 'no_token' }
  | { kind: 'hang' }

export interface SimulatorOptions {
  credentials?: SimulatorCredentials
  clientAuth?: TokenEndpointRules['clientAuth']
  basicDecoding?: TokenEndpointRules['basicDecoding']
  grants?: TokenEndpointRules['grants']
  tenantId?: string
  /** More business units on this issuer, each with its own credentials and tenant (issue 12). */
  otherTenants?: readonly SimulatorTenant[]
  lifetimeSec?: number
  /** The api_endpoint that discovery returns; defaults to the simulator's own origin. */
  apiEndpoint?: string
  /**
   * The `domain` that discovery returns; Digital Engagement is at https://api-de-{area}.{domain}. A name under
   * .test by default: it never resolves, so nothing built from it leaves the machine (the simulator's own digital
   * host is `digitalOrigin`, for CXONE_DIGITAL_URL).
   */
  domain?: string
  /** Fields of the cxone-configuration answer replaced (null: left out), to play a tenant whose answer differs. */
  discovery?: Record<string, unknown>
  host?: string
  port?: number
  now?: () => number
}

/** The simulator's three hosts, as CXone's API families are spread (CXONE.md, "API families and their hosts"). */
export type SimulatorHost = 'api' | 'ui' | 'digital'

export interface ApiRequestRecord {
  /** Which of the simulator's hosts answered. */
  host: SimulatorHost
  method: string
  url: string
  headers: IncomingMessage['headers']
}

const VERSION_PREFIX = /^\/inContactAPI\/services\/v(\d+)\.0(\/.*)$/

/** A CXone stand-in on loopback: discovery, a strict token endpoint and real-time API endpoints. */
export class CxoneSimulator {
  readonly options: Required<Omit<SimulatorOptions, 'apiEndpoint' | 'host' | 'port'>> & Pick<SimulatorOptions, 'apiEndpoint'>
  readonly #server: Server
  /** The UserHub host (ui_endpoint) and the Digital Engagement host: their own loopback origins. */
  readonly #ui: Server
  readonly #digital: Server
  #uiOrigin = ''
  #digitalOrigin = ''
  readonly #host: string
  readonly #port: number
  readonly #tokens = new Map<string, number>()
  readonly #issued: string[] = []
  tokenRequests = 0
  /** API calls answered 401 (missing, unknown, revoked or expired bearer). */
  unauthorizedApiCalls = 0
  readonly apiRequests: ApiRequestRecord[] = []
  /** Delay before the token endpoint answers (ms). */
  tokenDelayMs = 0
  /** When set, the token endpoint answers with this fault instead of judging the request. */
  tokenFault: TokenFault | undefined
  #origin = ''

  constructor (opts: SimulatorOptions = {}) {
    this.options = {
      credentials: opts.credentials ?? DEMO_CREDENTIALS,
      clientAuth: opts.clientAuth ?? 'client_secret_basic',
      basicDecoding: opts.basicDecoding ?? 'rfc6749',
      grants: opts.grants ?? ['password', 'client_credentials'],
      tenantId: opts.tenantId ?? DEMO_TENANT_ID,
      otherTenants: opts.otherTenants ?? [],
      lifetimeSec: opts.lifetimeSec ?? 3600,
      apiEndpoint: opts.apiEndpoint,
      domain: opts.domain ?? 'cxone-simulator.test',
      discovery: opts.discovery ?? {},
      now: opts.now ?? Date.now
    }
    this.#host = opts.host ?? '127.0.0.1'
    this.#port = opts.port ?? 0
    this.#server = createServer((req, res) => { this.#handle(req, res) })
    this.#server.keepAliveTimeout = 5_000
    this.#ui = createServer((req, res) => { this.#family('ui', req, res) })
    this.#digital = createServer((req, res) => { this.#family('digital', req, res) })
    this.#ui.keepAliveTimeout = 5_000
    this.#digital.keepAliveTimeout = 5_000
  }

  /** The UserHub host (ui_endpoint in discovery): /business-data-manager/... */
  get uiOrigin (): string {
    return this.#uiOrigin
  }

  /** The Digital Engagement host: /dfo/3.0/..., /engager/2.0/... (discovery's area and domain name another). */
  get digitalOrigin (): string {
    return this.#digitalOrigin
  }

  get origin (): string {
    return this.#origin
  }

  get issuer (): string {
    return this.#origin
  }

  get apiEndpoint (): string {
    return this.options.apiEndpoint ?? this.#origin
  }

  async start (): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(this.#port, this.#host, () => { resolve() })
    })
    this.#origin = originOf(this.#server)
    for (const server of [this.#ui, this.#digital]) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, this.#host, () => { resolve() })
      })
    }
    this.#uiOrigin = originOf(this.#ui)
    this.#digitalOrigin = originOf(this.#digital)
    return this
  }

  async stop (): Promise<void> {
    await Promise.all([this.#server, this.#ui, this.#digital].map(async (server) => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }))
  }

  /** Every access token issued so far (tests assert none of them leaks). */
  issuedTokens (): string[] {
    return [...this.#issued]
  }

  /** Every issued token stops being accepted (the API answers 401 to it). */
  revokeAll (): void {
    this.#tokens.clear()
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://sim')
    if (url.pathname === '/.well-known/openid-configuration') {
      json(res, 200, {
        issuer: this.issuer,
        token_endpoint: `${this.#origin}/auth/token`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        grant_types_supported: ['password', 'client_credentials', 'refresh_token']
      })
      return
    }
    if (url.pathname === '/.well-known/cxone-configuration') {
      const tenantId = url.searchParams.get('tenantId')
      if (tenantId !== this.options.tenantId && !this.options.otherTenants.some((t) => t.tenantId === tenantId)) {
        json(res, 404, { error: 'tenant_not_found' })
        return
      }
      const doc: Record<string, unknown> = {
        tenantId,
        area: 'na1',
        cluster: 'SIM1',
        domain: this.options.domain,
        api_endpoint: this.apiEndpoint,
        ui_endpoint: this.#uiOrigin,
        auth_endpoint: this.#origin,
        ...this.options.discovery
      }
      json(res, 200, Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== null)))
      return
    }
    if (url.pathname === '/auth/token') {
      this.#token(req, res)
      return
    }
    const m = VERSION_PREFIX.exec(url.pathname)
    if (m !== null) {
      this.#api(req, res, url, m[1] as string, m[2] as string)
      return
    }
    json(res, 404, { error: 'not_found', host: 'api', path: url.pathname })
  }

  #token (req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      this.tokenRequests += 1
      setTimeout(() => {
        if (req.method !== 'POST') {
          json(res, 405, { error: 'invalid_request', error_description: 'use POST' })
          return
        }
        if (this.tokenFault !== undefined) {
          this.#fault(res, this.tokenFault)
          return
        }
        const now = this.options.now()
        const answer = judgeTokenRequest({
          contentType: req.headers['content-type'],
          authorization: req.headers.authorization,
          body: Buffer.concat(chunks).toString('utf8')
        }, { ...this.options, issuer: this.issuer }, now)
        if (answer.issued !== undefined) {
          this.#tokens.set(answer.issued.token, answer.issued.expiresAt)
          this.#issued.push(answer.issued.token)
        }
        json(res, answer.status, answer.body)
      }, this.tokenDelayMs)
    })
  }

  #fault (res: ServerResponse, fault: TokenFault): void {
    switch (fault.kind) {
      case 'status':
        res.writeHead(fault.status, {
          'content-type': fault.contentType ?? 'application/json',
          ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {})
        })
        res.end(fault.body ?? JSON.stringify({ error: 'server_error', error_description: 'simulated failure' }))
        return
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>')
        return
      case 'empty':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' })
        res.end()
        return
      case 'no_token':
        json(res, 200, { token_type: 'Bearer', expires_in: 3600 })
        return
      case 'hang':
        return
    }
  }

  #api (req: IncomingMessage, res: ServerResponse, url: URL, version: string, path: string): void {
    this.apiRequests.push({ host: 'api', method: req.method ?? 'GET', url: req.url ?? '', headers: req.headers })
    const now = this.#authorized(req, res)
    if (now === undefined) return
    // Drain any body before answering.
    req.resume()
    req.on('end', () => {
      // Cognigy's handover (issue 23's replays): POST …/interactions/{contactId}/signal?p1=… is accepted, no body.
      if (req.method === 'POST' && SIGNAL.test(path)) {
        res.writeHead(202, { 'content-length': '0' })
        res.end()
        return
      }
      this.#answer(res, url, version, path, now)
    })
  }

  /** The time, if the request carries a live bearer; else it is answered 401 here. */
  #authorized (req: IncomingMessage, res: ServerResponse): number | undefined {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const expiresAt = token === undefined ? undefined : this.#tokens.get(token)
    const now = this.options.now()
    if (expiresAt === undefined || now >= expiresAt) {
      this.unauthorizedApiCalls += 1
      json(res, 401, { error: 'invalid_token', error_description: token === undefined ? 'missing bearer token' : 'unknown or expired token' })
      return undefined
    }
    return now
  }

  /** UserHub (/business-data-manager/) and Digital Engagement (/dfo/, /engager/): each on its own host. */
  #family (host: 'ui' | 'digital', req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://sim')
    const families = host === 'ui' ? FAMILY_UI : FAMILY_DIGITAL
    if (!families.test(url.pathname)) {
      json(res, 404, { error: 'not_found', host, path: url.pathname })
      return
    }
    this.apiRequests.push({ host, method: req.method ?? 'GET', url: req.url ?? '', headers: req.headers })
    if (this.#authorized(req, res) === undefined) return
    req.resume()
    req.on('end', () => {
      const self = host === 'ui' ? this.#uiOrigin : this.#digitalOrigin
      json(res, 200, { host, method: req.method, path: req.url, _links: { self: `${self}${req.url ?? '/'}` } })
    })
  }

  #answer (res: ServerResponse, url: URL, version: string, path: string, now: number): void {
    const answer = realtimeAnswer(this.apiEndpoint, version, path, url.searchParams, now)
    if (answer.body === undefined) noContent(res)
    else json(res, answer.status, answer.body)
  }
}

const SIGNAL = /^\/interactions\/[^/]+\/signal$/
const FAMILY_UI = /^\/business-data-manager(\/|$)/i
const FAMILY_DIGITAL = /^\/(dfo|engager)(\/|$)/i

function originOf (server: Server): string {
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return `http://${host}:${addr.port}`
}

function json (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** CXone answers 204 when nothing changed since `updatedSince`. */
function noContent (res: ServerResponse): void {
  res.writeHead(204)
  res.end()
}

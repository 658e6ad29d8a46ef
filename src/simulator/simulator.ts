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
  host?: string
  port?: number
  now?: () => number
}

export interface ApiRequestRecord {
  method: string
  url: string
  headers: IncomingMessage['headers']
}

const VERSION_PREFIX = /^\/inContactAPI\/services\/v(\d+)\.0(\/.*)$/

/** A CXone stand-in on loopback: discovery, a strict token endpoint and real-time API endpoints. */
export class CxoneSimulator {
  readonly options: Required<Omit<SimulatorOptions, 'apiEndpoint' | 'host' | 'port'>> & Pick<SimulatorOptions, 'apiEndpoint'>
  readonly #server: Server
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
      now: opts.now ?? Date.now
    }
    this.#host = opts.host ?? '127.0.0.1'
    this.#port = opts.port ?? 0
    this.#server = createServer((req, res) => { this.#handle(req, res) })
    this.#server.keepAliveTimeout = 5_000
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
    const addr = this.#server.address() as AddressInfo
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    this.#origin = `http://${host}:${addr.port}`
    return this
  }

  async stop (): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => { resolve() }))
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
      json(res, 200, {
        tenantId,
        area: 'na1',
        cluster: 'SIM1',
        api_endpoint: this.apiEndpoint,
        ui_endpoint: this.#origin,
        auth_endpoint: this.#origin
      })
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
    json(res, 404, { error: 'not_found', path: url.pathname })
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
    this.apiRequests.push({ method: req.method ?? 'GET', url: req.url ?? '', headers: req.headers })
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const expiresAt = token === undefined ? undefined : this.#tokens.get(token)
    const now = this.options.now()
    if (expiresAt === undefined || now >= expiresAt) {
      this.unauthorizedApiCalls += 1
      json(res, 401, { error: 'invalid_token', error_description: token === undefined ? 'missing bearer token' : 'unknown or expired token' })
      return
    }
    // Drain any body before answering.
    req.resume()
    req.on('end', () => { this.#answer(res, url, version, path, now) })
  }

  #answer (res: ServerResponse, url: URL, version: string, path: string, now: number): void {
    const answer = realtimeAnswer(this.apiEndpoint, version, path, url.searchParams, now)
    if (answer.body === undefined) noContent(res)
    else json(res, answer.status, answer.body)
  }
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

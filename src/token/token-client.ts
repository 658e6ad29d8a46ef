import { createHash } from 'node:crypto'
import { ProxyError } from '../core/errors.js'
import type { FetchFn } from '../core/http-clients.js'
import { describeNetworkError } from '../core/net-errors.js'
import { retryAfterSeconds } from '../core/retry-after.js'

export type { FetchFn } from '../core/http-clients.js'
import { basicAuthorization, type BasicEncoding, type ClientAuthMethod } from './client-auth.js'
import { AnswerTooLargeError, MAX_AUTH_ANSWER_BYTES, readTextCapped } from './capped-body.js'

export type GrantType = 'password' | 'client_credentials'

export interface TokenRequestParams {
  tokenUrl: string
  grantType: GrantType
  clientAuth: ClientAuthMethod
  basicEncoding: BasicEncoding
  scope: string | undefined
  clientId: string
  clientSecret: string
  accessKeyId: string | undefined
  accessKeySecret: string | undefined
}

export interface TokenRequest {
  url: string
  headers: Record<string, string>
  /** The form body, encoded exactly once. */
  body: string
}

/** Builds the token request. Pure: no I/O, so `check` can show exactly what would be sent. */
export function buildTokenRequest (p: TokenRequestParams): TokenRequest {
  const form = new URLSearchParams()
  form.set('grant_type', p.grantType)
  if (p.grantType === 'password') {
    // CXone's back-end flow: the access key pair goes as username/password. URLSearchParams encodes
    // once, so a key ending in `=` is sent as `%3D`, never `%253D`.
    form.set('username', p.accessKeyId ?? '')
    form.set('password', p.accessKeySecret ?? '')
  }
  if (p.scope !== undefined) form.set('scope', p.scope)
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json'
  }
  if (p.clientAuth === 'client_secret_basic') {
    headers.authorization = basicAuthorization(p.clientId, p.clientSecret, p.basicEncoding)
  } else {
    form.set('client_id', p.clientId)
    form.set('client_secret', p.clientSecret)
  }
  return { url: p.tokenUrl, headers, body: form.toString() }
}

export interface RawResponse {
  status: number
  contentType: string
  retryAfter: string | null
  text: string
}

/** Sends the token request (I/O): no redirects followed, bounded by a timeout. */
export async function sendTokenRequest (req: TokenRequest, fetchFn: FetchFn, timeoutMs: number): Promise<RawResponse> {
  let res: Response
  try {
    res = await fetchFn(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs)
    })
  } catch (err) {
    throw new ProxyError('token_unavailable', `token endpoint ${req.url} unreachable: ${describeNetworkError(err, timeoutMs)}`, { cause: err })
  }
  let text: string
  try {
    text = await readTextCapped(res, MAX_AUTH_ANSWER_BYTES)
  } catch (err) {
    if (err instanceof AnswerTooLargeError) {
      throw new ProxyError('token_invalid_response', `token endpoint ${req.url} answered ${res.status} with more than ${err.limit / 1024} KiB (a token answer is a few KB), so the answer was not read: check CXONE_ISSUER / CXONE_TOKEN_URL point at the token endpoint`, { cause: err })
    }
    throw new ProxyError('token_unavailable', `token endpoint ${req.url} broke off its answer: ${describeNetworkError(err, timeoutMs)}`, { cause: err })
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    retryAfter: res.headers.get('retry-after'),
    text
  }
}

export interface TokenSet {
  readonly accessToken: string
  readonly tokenType: string
  readonly lifetimeSec: number
  /** Epoch ms when the response arrived. */
  readonly obtainedAt: number
  readonly expiresAt: number
  readonly fingerprint: string
  readonly tenantId: string | undefined
}

export const DEFAULT_EXPIRES_IN_SEC = 300
/**
 * The shortest lifetime acted on. A token living less cannot be refreshed in time: issue 17 saw expires_in=0.001
 * cause ~330 token requests per second. CXone's tokens live an hour; tokens of a few seconds still work.
 */
export const MIN_EXPIRES_IN_SEC = 1
const WHOLE_SECOND_MS = 1000

const CONFIG_ERRORS = new Set(['invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_request'])

/**
 * Judges a token response. Pure: throws ProxyError for anything that is not a usable bearer.
 * The lifetime counts from when the request was sent (`sentAt`), less the second a server loses by
 * stamping `iat`/`exp` in whole seconds: a short-lived token must never be attached after its real `exp`.
 */
export function parseTokenResponse (raw: RawResponse, receivedAt: number, sentAt = receivedAt): TokenSet {
  const json = parseJson(raw.text)
  if (raw.status < 200 || raw.status >= 300) throw errorFromResponse(raw, json, receivedAt)
  if (json === undefined || typeof json !== 'object' || json === null) {
    throw new ProxyError('token_invalid_response', `token endpoint answered ${raw.status} with ${describeBody(raw)} instead of a JSON token: check CXONE_ISSUER / CXONE_TOKEN_URL point at the token endpoint of your region`)
  }
  const body = json as Record<string, unknown>
  const accessToken = body.access_token
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new ProxyError('token_invalid_response', 'token endpoint answered 200 without an access_token: check CXONE_TOKEN_URL points at the token endpoint')
  }
  const bad = firstNonB64TokenChar(accessToken)
  if (bad !== undefined) {
    throw new ProxyError('token_invalid_response', `token endpoint sent an access_token (fingerprint ${fingerprint(accessToken)}) containing ${bad}, which a bearer token cannot carry (RFC 6750 §2.1 allows letters, digits, - . _ ~ + / and a trailing =): check CXONE_TOKEN_URL points at the token endpoint`)
  }
  const tokenType = typeof body.token_type === 'string' ? body.token_type : 'Bearer'
  if (tokenType.toLowerCase() !== 'bearer') {
    throw new ProxyError('token_invalid_response', `token endpoint issued a "${tokenType}" token; only Bearer tokens are supported`)
  }
  const lifetimeSec = parseExpiresIn(body.expires_in)
  const tenantId = jwtClaims(accessToken)?.tenantId
  const set = {
    tokenType: 'Bearer',
    lifetimeSec,
    obtainedAt: receivedAt,
    expiresAt: Math.min(sentAt, receivedAt) + lifetimeSec * 1000 - Math.min(WHOLE_SECOND_MS, lifetimeSec * 500),
    fingerprint: fingerprint(accessToken),
    tenantId: typeof tenantId === 'string' ? tenantId : undefined
  }
  // Non-enumerable: a logged or serialised TokenSet never shows the bearer.
  Object.defineProperty(set, 'accessToken', { value: accessToken, enumerable: false })
  return Object.freeze(set as TokenSet)
}

/** RFC 6750 §2.1 b64token: what an `Authorization: Bearer` header can carry. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** The first character outside b64token, named by its code point (never the token itself); undefined when valid. */
function firstNonB64TokenChar (token: string): string | undefined {
  if (B64TOKEN.test(token)) return undefined
  const body = token.replace(/=+$/, '')
  const ch = [...body].find((c) => !/[A-Za-z0-9\-._~+/]/.test(c)) ?? '='
  const name = CHAR_NAMES[ch]
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}${name === undefined ? '' : ` (${name})`}`
}

const CHAR_NAMES: Record<string, string> = { '\r': 'CR', '\n': 'LF', '\0': 'NUL', '\t': 'TAB', ' ': 'space', '\u2028': 'line separator', '\u2029': 'paragraph separator', '=': 'an = before the end' }

function parseExpiresIn (value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_EXPIRES_IN_SEC
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN
  if (!Number.isFinite(n) || n <= 0) {
    throw new ProxyError('token_invalid_response', `token endpoint sent expires_in=${JSON.stringify(value)}, not a positive number of seconds`)
  }
  if (n < MIN_EXPIRES_IN_SEC) {
    throw new ProxyError('token_invalid_response', `token endpoint sent expires_in=${JSON.stringify(value)}: a token living under ${MIN_EXPIRES_IN_SEC} s cannot be used, so the endpoint is misconfigured; fix its token lifetime (CXone issues 3600 s tokens) or check CXONE_TOKEN_URL points at the token endpoint`)
  }
  return n
}

function errorFromResponse (raw: RawResponse, json: unknown, receivedAt: number): ProxyError {
  const body = typeof json === 'object' && json !== null ? json as Record<string, unknown> : {}
  const error = typeof body.error === 'string' ? body.error : undefined
  const description = [body.error_description, body.errorDescription, body.message].find((d) => typeof d === 'string') as string | undefined
  const detail = error !== undefined ? `${error}${description !== undefined ? ` (${description})` : ''}` : describeBody(raw)
  if (raw.status === 429 || raw.status >= 500) {
    return new ProxyError('token_unavailable', `token endpoint answered ${raw.status} ${detail}`, {
      retryAfterSec: retryAfterSeconds(raw.retryAfter, receivedAt),
      oauthError: error
    })
  }
  if (error !== undefined && CONFIG_ERRORS.has(error)) {
    return new ProxyError('token_rejected', `token endpoint rejected the request: ${raw.status} ${detail}. ${remedyFor(error)}`, { oauthError: error })
  }
  if (raw.status >= 300 && raw.status < 400) {
    return new ProxyError('token_invalid_response', `token endpoint answered with a redirect (${raw.status}); redirects are not followed: set CXONE_TOKEN_URL to the final token endpoint`)
  }
  if (error !== undefined) {
    return new ProxyError('token_rejected', `token endpoint rejected the request: ${raw.status} ${detail}`, { oauthError: error })
  }
  return new ProxyError('token_invalid_response', `token endpoint answered ${raw.status} with ${describeBody(raw)}: check CXONE_ISSUER / CXONE_TOKEN_URL`)
}

/** The likely fix for each OAuth error, most likely cause first. */
export function remedyFor (oauthError: string): string {
  switch (oauthError) {
    case 'invalid_client':
      return 'Check CXONE_CLIENT_ID and CXONE_CLIENT_SECRET, that the app registration is approved, and CXONE_CLIENT_AUTH / CXONE_BASIC_ENCODING (run `cxone-auth-proxy check --probe`)'
    case 'invalid_grant':
      return 'Check CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET: the access key may be wrong or revoked, or its user deactivated'
    case 'unsupported_grant_type':
    case 'unauthorized_client':
      return 'The app is not allowed this grant: set CXONE_GRANT_TYPE (password with an access key, or client_credentials)'
    case 'invalid_scope':
      return 'Remove CXONE_SCOPE or set a scope the app registration allows'
    default:
      return 'Check the token request with `cxone-auth-proxy check`'
  }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function describeBody (raw: RawResponse): string {
  if (raw.text.trim() === '') return 'an empty body'
  if (/html/i.test(raw.contentType) || /^\s*</.test(raw.text)) return 'an HTML page'
  return `a ${raw.contentType === '' ? 'body' : `${raw.contentType.split(';')[0]} body`} that is not a token`
}

/** A short, stable, non-reversible name for a token, safe to log. */
export function fingerprint (token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12)
}

/** The JWT payload's claims, unverified: used only to route (tenantId), never to trust. */
export function jwtClaims (token: string): Record<string, unknown> | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || parts[1] === undefined) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
    return typeof claims === 'object' && claims !== null ? claims as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/**
 * Placeholder tokens (issue 23): what a client that does its own token dance receives from the proxy instead of a
 * CXone token. JWT-shaped, so a client's own decoding finds the real token's non-secret claims (tenantId, icBUId,
 * icClusterId, area, iat, exp); signed HMAC-SHA256 with the proxy's own key, so it cannot be forged, is useless at
 * CXone, and is recognised when it comes back. Pure: the key and the time are passed in.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** The header's `kid`: how a bearer is told to be one of ours before its signature is checked. */
export const PLACEHOLDER_KID = 'cxone-auth-proxy'
/** Refresh placeholders live this long at most (CXone's refresh tokens last about two hours). */
export const REFRESH_LIFETIME_SEC = 7200
const KEY_BYTES = 32
const HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: PLACEHOLDER_KID }))
/** The real token's claims a client reads; nothing else of it is copied. */
const COPIED_CLAIMS = ['tenantId', 'tenant', 'icBUId', 'icClusterId', 'area', 'icAgentId', 'icSPId'] as const

/** What a placeholder is for: a bearer, a refresh grant, or an id_token to be decoded. */
export type PlaceholderUse = 'access' | 'refresh' | 'id'

export interface PlaceholderClaims {
  readonly [claim: string]: unknown
  readonly profile: string
  readonly caller?: string
  readonly use: PlaceholderUse
  readonly iat: number
  readonly exp: number
}

export interface IssueInput {
  /** The real token's payload (jwtClaims of it); only COPIED_CLAIMS are taken. */
  readonly real: Readonly<Record<string, unknown>> | undefined
  /** Epoch ms when the real token stops being usable: an access placeholder never outlives it. */
  readonly realExpiresAt: number
  readonly profile: string
  readonly caller?: string | undefined
  readonly use: PlaceholderUse
  readonly key: Buffer
  readonly now: number
  /** `iss`: the proxy's own origin, never CXone's (a client reading it must come back to the proxy). */
  readonly issuer?: string | undefined
}

export type Verdict =
  | { readonly kind: 'not_ours' }
  | { readonly kind: 'valid', readonly claims: PlaceholderClaims }
  | { readonly kind: 'refused', readonly reason: 'forged' | 'expired' | 'other_profile' | 'wrong_use' }

/** A fresh random key, held in memory only: each process (each fleet replica) has its own. */
export function createPlaceholderKey (): Buffer {
  return randomBytes(KEY_BYTES)
}

/** Issues a placeholder; its `exp` is never later than the real token's (refresh ones: REFRESH_LIFETIME_SEC). */
export function issuePlaceholder (i: IssueInput): { token: string, claims: PlaceholderClaims } {
  const iat = Math.floor(i.now / 1000)
  const exp = i.use === 'refresh' ? iat + REFRESH_LIFETIME_SEC : Math.floor(i.realExpiresAt / 1000)
  const copied: Record<string, unknown> = {}
  for (const name of COPIED_CLAIMS) if (i.real?.[name] !== undefined) copied[name] = i.real[name]
  const claims: PlaceholderClaims = {
    ...(i.issuer !== undefined ? { iss: i.issuer } : {}),
    ...copied,
    profile: i.profile,
    ...(i.caller !== undefined ? { caller: i.caller } : {}),
    use: i.use,
    iat,
    exp,
    jti: randomBytes(8).toString('hex')
  }
  const body = `${HEADER}.${b64(JSON.stringify(claims))}`
  return { token: `${body}.${sign(body, i.key)}`, claims }
}

/** True when a bearer carries our header: it is then judged here, never forwarded as it is. */
export function isPlaceholder (token: string): boolean {
  return token.startsWith(`${HEADER}.`)
}

/** Judges a token that came back: ours, signed with `key`, for `profile` and `use`, not expired at `now`. */
export function verifyPlaceholder (token: string, o: { key: Buffer, profile: string, use: PlaceholderUse, now: number }): Verdict {
  if (!isPlaceholder(token)) return { kind: 'not_ours' }
  const parts = token.split('.')
  if (parts.length !== 3) return { kind: 'refused', reason: 'forged' }
  const expected = Buffer.from(sign(`${parts[0] as string}.${parts[1] as string}`, o.key))
  const sent = Buffer.from(parts[2] as string)
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) return { kind: 'refused', reason: 'forged' }
  let claims: PlaceholderClaims
  try {
    claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as PlaceholderClaims
  } catch {
    return { kind: 'refused', reason: 'forged' }
  }
  if (claims.profile !== o.profile) return { kind: 'refused', reason: 'other_profile' }
  if (claims.use !== o.use) return { kind: 'refused', reason: 'wrong_use' }
  if (typeof claims.exp !== 'number' || o.now >= claims.exp * 1000) return { kind: 'refused', reason: 'expired' }
  return { kind: 'valid', claims }
}

/** Seconds until `exp`, for expires_in (at least 1: a client dividing by it, or subtracting a margin, still works). */
export function expiresInSec (claims: PlaceholderClaims, now: number): number {
  return Math.max(1, claims.exp - Math.floor(now / 1000))
}

function sign (body: string, key: Buffer): string {
  return createHmac('sha256', key).update(body).digest('base64url')
}

function b64 (text: string): string {
  return Buffer.from(text).toString('base64url')
}

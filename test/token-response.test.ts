import { describe, expect, it } from 'vitest'
import { ProxyError } from '../src/core/errors.js'
import { parseTokenResponse, type RawResponse } from '../src/token/token-client.js'
import { retryAfterSeconds } from '../src/core/retry-after.js'

const NOW = 1_700_000_000_000
const raw = (status: number, body: unknown, extra: Partial<RawResponse> = {}): RawResponse => ({
  status,
  contentType: 'application/json',
  retryAfter: null,
  text: typeof body === 'string' ? body : JSON.stringify(body),
  ...extra
})

function failure (r: RawResponse): ProxyError {
  try {
    parseTokenResponse(r, NOW)
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError)
    return err as ProxyError
  }
  throw new Error('expected parseTokenResponse to throw')
}

describe('judging the token response', () => {
  it('accepts a CXone answer and keeps the bearer off enumerable fields', () => {
    const t = parseTokenResponse(raw(200, { access_token: 'a.b.c', token_type: 'Bearer', expires_in: 3600, refresh_token: 'r' }), NOW)
    expect(t.accessToken).toBe('a.b.c')
    // A second less: servers stamp exp in whole seconds.
    expect(t.expiresAt).toBe(NOW + 3_600_000 - 1_000)
    expect(t.lifetimeSec).toBe(3600)
    expect(t.fingerprint).toMatch(/^[0-9a-f]{12}$/)
    expect(JSON.stringify(t)).not.toContain('a.b.c')
  })

  it('counts the lifetime from when the request was sent, and keeps a short token\'s margin proportionate', () => {
    const t = parseTokenResponse(raw(200, { access_token: 'x', token_type: 'Bearer', expires_in: 2 }), NOW, NOW - 300)
    expect(t.obtainedAt).toBe(NOW)
    expect(t.expiresAt).toBe(NOW - 300 + 2_000 - 1_000)
  })

  it('takes token_type in any case and expires_in as a numeric string', () => {
    const t = parseTokenResponse(raw(200, { access_token: 'x', token_type: 'bEaReR', expires_in: '120' }), NOW)
    expect(t.tokenType).toBe('Bearer')
    expect(t.lifetimeSec).toBe(120)
  })

  it('assumes 300 s when expires_in is absent', () => {
    expect(parseTokenResponse(raw(200, { access_token: 'x', token_type: 'Bearer' }), NOW).lifetimeSec).toBe(300)
  })

  it('reads tenantId from the JWT payload', () => {
    const payload = Buffer.from(JSON.stringify({ tenantId: 't-1' })).toString('base64url')
    expect(parseTokenResponse(raw(200, { access_token: `h.${payload}.s`, token_type: 'Bearer' }), NOW).tenantId).toBe('t-1')
  })

  it.each([
    ['an HTML 200', raw(200, '<html><body>login</body></html>', { contentType: 'text/html' }), /HTML/],
    ['an empty 200', raw(200, ''), /empty/],
    ['a 200 without access_token', raw(200, { token_type: 'Bearer' }), /without an access_token/],
    ['a non-bearer token', raw(200, { access_token: 'x', token_type: 'mac' }), /Bearer/],
    ['a negative expires_in', raw(200, { access_token: 'x', expires_in: -5 }), /expires_in/],
    ['a redirect', raw(302, ''), /redirect/]
  ])('rejects %s as token_invalid_response', (_name, r, message) => {
    const err = failure(r)
    expect(err.code).toBe('token_invalid_response')
    expect(err.message).toMatch(message)
  })

  it('keeps error and error_description of an OAuth error', () => {
    const err = failure(raw(401, { error: 'invalid_client', error_description: 'Bad client credentials' }))
    expect(err.code).toBe('token_rejected')
    expect(err.oauthError).toBe('invalid_client')
    expect(err.message).toContain('invalid_client (Bad client credentials)')
    expect(err.message).toContain('CXONE_CLIENT_SECRET')
  })

  it('accepts errorDescription as CXone spells it', () => {
    const err = failure(raw(400, { error: 'invalid_grant', errorDescription: 'Invalid access key' }))
    expect(err.code).toBe('token_rejected')
    expect(err.message).toContain('invalid_grant (Invalid access key)')
    expect(err.message).toContain('CXONE_ACCESS_KEY_ID')
  })

  it('treats 429 and 5xx as unavailable, keeping Retry-After', () => {
    const limited = failure(raw(429, { error: 'rate_limited' }, { retryAfter: '17' }))
    expect(limited.code).toBe('token_unavailable')
    expect(limited.retryAfterSec).toBe(17)
    expect(failure(raw(503, 'down', { contentType: 'text/plain' })).code).toBe('token_unavailable')
  })

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterSeconds('5', NOW)).toBe(5)
    expect(retryAfterSeconds(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30)
    expect(retryAfterSeconds('soon', NOW)).toBeUndefined()
    expect(retryAfterSeconds(null, NOW)).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { createPlaceholderKey, expiresInSec, issuePlaceholder, isPlaceholder, verifyPlaceholder, REFRESH_LIFETIME_SEC } from '../src/token/placeholder.js'

const NOW = 1_800_000_000_000
const key = createPlaceholderKey()
const real = { iss: 'https://cxone.example', sub: 'user:secret-ish', tenantId: 't-1', icBUId: 4600001, icClusterId: 'B32', area: 'na1', iat: NOW / 1000 - 60, exp: NOW / 1000 + 3540, jti: 'real' }
const issue = (over: Partial<Parameters<typeof issuePlaceholder>[0]> = {}): ReturnType<typeof issuePlaceholder> =>
  issuePlaceholder({ real, realExpiresAt: NOW + 3_540_000, profile: 'default', use: 'access', key, now: NOW, ...over })
const payload = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>

describe('placeholder tokens', () => {
  it('carry the real non-secret claims, the profile and the caller, and expire with the real token', () => {
    const { token } = issue({ caller: 'nightly-export', issuer: 'http://127.0.0.1:8080' })
    const p = payload(token)
    expect(p).toMatchObject({ iss: 'http://127.0.0.1:8080', tenantId: 't-1', icBUId: 4600001, icClusterId: 'B32', area: 'na1', profile: 'default', caller: 'nightly-export', use: 'access', iat: NOW / 1000, exp: NOW / 1000 + 3540 })
    expect(p.sub).toBeUndefined()
    expect(JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8'))).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'cxone-auth-proxy' })
    expect(isPlaceholder(token)).toBe(true)
  })

  it('verify when signed with the key, for the profile and the use, before exp', () => {
    const { token, claims } = issue()
    expect(verifyPlaceholder(token, { key, profile: 'default', use: 'access', now: NOW + 1000 })).toEqual({ kind: 'valid', claims })
    expect(expiresInSec(claims, NOW)).toBe(3540)
  })

  it('are refused when expired, exactly at exp', () => {
    const { token } = issue()
    expect(verifyPlaceholder(token, { key, profile: 'default', use: 'access', now: NOW + 3_540_000 })).toEqual({ kind: 'refused', reason: 'expired' })
    expect(verifyPlaceholder(token, { key, profile: 'default', use: 'access', now: NOW + 3_539_999 }).kind).toBe('valid')
  })

  it('are refused when forged: another key, an edited payload, a cut signature', () => {
    const { token } = issue()
    expect(verifyPlaceholder(token, { key: createPlaceholderKey(), profile: 'default', use: 'access', now: NOW })).toEqual({ kind: 'refused', reason: 'forged' })
    const [h, , s] = token.split('.')
    const edited = Buffer.from(JSON.stringify({ ...payload(token), exp: NOW / 1000 + 999_999 })).toString('base64url')
    expect(verifyPlaceholder(`${h as string}.${edited}.${s as string}`, { key, profile: 'default', use: 'access', now: NOW })).toEqual({ kind: 'refused', reason: 'forged' })
    expect(verifyPlaceholder(token.slice(0, -3), { key, profile: 'default', use: 'access', now: NOW })).toEqual({ kind: 'refused', reason: 'forged' })
    expect(verifyPlaceholder(`${token}.x`, { key, profile: 'default', use: 'access', now: NOW })).toEqual({ kind: 'refused', reason: 'forged' })
  })

  it('are refused on another profile, and for another use (a refresh or id token is no bearer)', () => {
    expect(verifyPlaceholder(issue().token, { key, profile: 'bu-two', use: 'access', now: NOW })).toEqual({ kind: 'refused', reason: 'other_profile' })
    expect(verifyPlaceholder(issue({ use: 'refresh' }).token, { key, profile: 'default', use: 'access', now: NOW })).toEqual({ kind: 'refused', reason: 'wrong_use' })
    expect(verifyPlaceholder(issue({ use: 'id' }).token, { key, profile: 'default', use: 'access', now: NOW })).toEqual({ kind: 'refused', reason: 'wrong_use' })
  })

  it('leave a token that is not ours alone (a real CXone token is judged elsewhere)', () => {
    const cxone = `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(real)).toString('base64url')}.sig`
    expect(verifyPlaceholder(cxone, { key, profile: 'default', use: 'access', now: NOW })).toEqual({ kind: 'not_ours' })
    expect(isPlaceholder('opaque-token')).toBe(false)
  })

  it('refresh placeholders outlive the access token by the refresh lifetime only', () => {
    const { claims } = issue({ use: 'refresh' })
    expect(claims.exp).toBe(NOW / 1000 + REFRESH_LIFETIME_SEC)
  })
})

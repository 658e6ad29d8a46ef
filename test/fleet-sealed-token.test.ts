import { describe, expect, it } from 'vitest'
import { deriveFleetKeys, type CredentialIdentity } from '../src/token/fleet/fleet-keys.js'
import { openToken, sealToken } from '../src/token/fleet/sealed-token.js'
import { parseTokenResponse } from '../src/token/token-client.js'

const IDENTITY: CredentialIdentity = {
  tokenUrl: 'https://cxone.niceincontact.com/auth/token',
  clientId: '067ed166-8c0f-4e3a-9a1c-5b0c2d3e4f50',
  grantType: 'password',
  scope: undefined,
  clientSecret: 'ClientSecret0123456789ab',
  accessKeyId: 'KEYID7XQ2M4T9L0P3R8W6Z1V5B',
  accessKeySecret: 'QWNjZXNzS2V5U2VjcmV0MDEyMzQ1Njc4OWFiY2RlZg=='
}
const TOKEN = parseTokenResponse({ status: 200, contentType: 'application/json', retryAfter: null, text: JSON.stringify({ access_token: 'eyJhbGciOi.payload.sig-abc', token_type: 'Bearer', expires_in: 3600 }) }, 1_800_000_000_000)

describe('the sealed token and its keys', () => {
  it('opens with the same credential and key name, with every field and a hidden bearer', () => {
    const k = deriveFleetKeys(IDENTITY)
    const opened = openToken(sealToken(TOKEN, k.encryptionKey, k.tokenKey), k.encryptionKey, k.tokenKey)
    expect(opened).toEqual(TOKEN)
    expect(opened?.accessToken).toBe(TOKEN.accessToken)
    expect(JSON.stringify(opened)).not.toContain(TOKEN.accessToken)
  })

  it('seals with a fresh IV each time', () => {
    const k = deriveFleetKeys(IDENTITY)
    expect(sealToken(TOKEN, k.encryptionKey, k.tokenKey)).not.toBe(sealToken(TOKEN, k.encryptionKey, k.tokenKey))
  })

  it.each(Object.keys(IDENTITY) as Array<keyof CredentialIdentity>)('a different %s gives another key name; a secret also another encryption key', (field) => {
    const a = deriveFleetKeys(IDENTITY)
    const b = deriveFleetKeys({ ...IDENTITY, [field]: `${IDENTITY[field] ?? ''}x` })
    expect(b.tokenKey).not.toBe(a.tokenKey)
    if (['clientId', 'clientSecret', 'accessKeyId', 'accessKeySecret'].includes(field)) {
      expect(b.encryptionKey.equals(a.encryptionKey)).toBe(false)
      expect(openToken(sealToken(TOKEN, a.encryptionKey, a.tokenKey), b.encryptionKey, a.tokenKey)).toBeUndefined()
    }
  })

  it('does not open under another key name (a value copied between credentials)', () => {
    const a = deriveFleetKeys(IDENTITY)
    const b = deriveFleetKeys({ ...IDENTITY, scope: 'other' })
    expect(openToken(sealToken(TOKEN, a.encryptionKey, a.tokenKey), a.encryptionKey, b.tokenKey)).toBeUndefined()
  })

  it.each(['', 'v1.', 'v1.AAAA', 'v2.abc', 'plain text'])('does not open %j', (value) => {
    const k = deriveFleetKeys(IDENTITY)
    expect(openToken(value, k.encryptionKey, k.tokenKey)).toBeUndefined()
  })

  it('names keys without any secret', () => {
    const k = deriveFleetKeys(IDENTITY)
    expect(k.tokenKey).toMatch(/^cxone-auth-proxy:v1:token:[0-9a-f]{64}$/)
    expect(k.lockKey).toBe(`${k.tokenKey}:lock`)
  })
})

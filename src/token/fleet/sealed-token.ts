import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { fingerprint, type TokenSet } from '../token-client.js'

const VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

interface Payload {
  accessToken: string
  tokenType: string
  lifetimeSec: number
  obtainedAt: number
  expiresAt: number
  tenantId: string | undefined
}

/**
 * The token set encrypted with AES-256-GCM (random 96-bit IV, NIST SP 800-38D), the Redis key name as
 * associated data so a value copied under another key does not open. `v1.<base64url(iv | ciphertext | tag)>`.
 */
export function sealToken (t: TokenSet, key: Buffer, keyName: string): string {
  const payload: Payload = {
    accessToken: t.accessToken,
    tokenType: t.tokenType,
    lifetimeSec: t.lifetimeSec,
    obtainedAt: t.obtainedAt,
    expiresAt: t.expiresAt,
    tenantId: t.tenantId
  }
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(keyName, 'utf8'))
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()])
  return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
}

/** The token set, or undefined when the value is not ours: another key, another key name, tampered, truncated. */
export function openToken (value: string, key: Buffer, keyName: string): TokenSet | undefined {
  if (!value.startsWith(`${VERSION}.`)) return undefined
  const raw = Buffer.from(value.slice(VERSION.length + 1), 'base64url')
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined
  let payload: unknown
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES })
    decipher.setAAD(Buffer.from(keyName, 'utf8'))
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES))
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8')
    payload = JSON.parse(text)
  } catch {
    return undefined
  }
  return toTokenSet(payload)
}

function toTokenSet (p: unknown): TokenSet | undefined {
  if (typeof p !== 'object' || p === null) return undefined
  const o = p as Partial<Record<keyof Payload, unknown>>
  if (typeof o.accessToken !== 'string' || o.accessToken === '' || typeof o.tokenType !== 'string' ||
    typeof o.lifetimeSec !== 'number' || typeof o.obtainedAt !== 'number' || typeof o.expiresAt !== 'number') return undefined
  const set = {
    tokenType: o.tokenType,
    lifetimeSec: o.lifetimeSec,
    obtainedAt: o.obtainedAt,
    expiresAt: o.expiresAt,
    fingerprint: fingerprint(o.accessToken),
    tenantId: typeof o.tenantId === 'string' ? o.tenantId : undefined
  }
  // As parseTokenResponse does: a logged or serialised TokenSet never shows the bearer.
  Object.defineProperty(set, 'accessToken', { value: o.accessToken, enumerable: false })
  return Object.freeze(set as TokenSet)
}

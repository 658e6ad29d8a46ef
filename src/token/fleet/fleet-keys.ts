import { createHash, hkdfSync } from 'node:crypto'

/** What identifies one credential at one token endpoint: two credentials never share a key. */
export interface CredentialIdentity {
  tokenUrl: string
  clientId: string
  grantType: string
  scope: string | undefined
  clientSecret: string
  accessKeyId: string | undefined
  accessKeySecret: string | undefined
}

export interface FleetKeys {
  /** Redis key of the shared, encrypted token set. */
  readonly tokenKey: string
  /** Redis key of the fleet-wide lock taken while one replica asks the token endpoint. */
  readonly lockKey: string
  /** AES-256-GCM key: only holders of the credential's secrets can read the shared token. */
  readonly encryptionKey: Buffer
}

export const KEY_PREFIX = 'cxone-auth-proxy:v1'
const HKDF_SALT = 'cxone-auth-proxy fleet v1'

/**
 * Derives the Redis key names and the encryption key. The name hashes (token URL, client id, grant, scope,
 * a hash of the secrets); the encryption key is HKDF-SHA256 over the secrets (RFC 5869), with its own `info`,
 * so neither can be computed from the other, nor from anything Redis holds.
 */
export function deriveFleetKeys (c: CredentialIdentity): FleetKeys {
  const ikm = lengthPrefixed([c.clientId, c.clientSecret, c.accessKeyId ?? '', c.accessKeySecret ?? ''])
  const secretsHash = Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, 'key name', 32)).toString('hex')
  const encryptionKey = Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, 'token encryption', 32))
  const id = createHash('sha256')
    .update(lengthPrefixed([c.tokenUrl, c.clientId, c.grantType, c.scope ?? '', secretsHash]))
    .digest('hex')
  const tokenKey = `${KEY_PREFIX}:token:${id}`
  return Object.freeze({ tokenKey, lockKey: `${tokenKey}:lock`, encryptionKey })
}

/** Unambiguous concatenation: ("ab","c") and ("a","bc") must not collide. */
function lengthPrefixed (parts: string[]): Buffer {
  return Buffer.concat(parts.flatMap((p) => {
    const bytes = Buffer.from(p, 'utf8')
    const len = Buffer.alloc(4)
    len.writeUInt32BE(bytes.length)
    return [len, bytes]
  }))
}

import type { Cause } from './report.js'

/**
 * The shapes CXone's values have (../docs/check.md, "Misplaced values"): client ids are UUIDs, access key ids
 * about 30 upper-case letters and digits, access key secrets about 50 base64 characters ending in `=` padding.
 * A value in the wrong variable is named as such before any guess about encoding. Pure.
 */

/** The four values the token request carries. */
type SecretKey = 'clientId' | 'clientSecret' | 'accessKeyId' | 'accessKeySecret'
export type CredentialVars = Readonly<Record<SecretKey, string>>

export type Shape = 'client_id' | 'access_key_id' | 'access_key_secret' | 'unknown'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ACCESS_KEY_ID = /^[A-Z0-9]{20,40}$/
const ACCESS_KEY_SECRET = /^[A-Za-z0-9+/]{30,80}={1,2}$/

export function shapeOf (value: string | undefined): Shape {
  if (value === undefined) return 'unknown'
  if (UUID.test(value)) return 'client_id'
  if (ACCESS_KEY_ID.test(value)) return 'access_key_id'
  if (ACCESS_KEY_SECRET.test(value)) return 'access_key_secret'
  return 'unknown'
}

const LOOKS: Record<Exclude<Shape, 'unknown'>, string> = {
  client_id: 'a client id (a UUID)',
  access_key_id: 'an access key id (about 30 upper-case letters and digits)',
  access_key_secret: 'an access key secret (base64 ending in =)'
}

/** Which shape each variable should hold; a client secret has none of the three. */
const EXPECTED: Record<SecretKey, Shape | 'client_secret'> = {
  clientId: 'client_id',
  clientSecret: 'client_secret',
  accessKeyId: 'access_key_id',
  accessKeySecret: 'access_key_secret'
}

export type CredentialValues = Readonly<Partial<Record<SecretKey, string>>>

/** The variables whose value has another variable's shape, each with what it looks like. */
function misplaced (values: CredentialValues): Array<{ key: SecretKey, shape: Exclude<Shape, 'unknown'> }> {
  const found: Array<{ key: SecretKey, shape: Exclude<Shape, 'unknown'> }> = []
  for (const key of Object.keys(EXPECTED) as SecretKey[]) {
    const shape = shapeOf(values[key])
    if (shape !== 'unknown' && shape !== EXPECTED[key]) found.push({ key, shape })
  }
  return found
}

/** A value copied with a space or line break: the server compares bytes, so it is a different value. */
export function whitespaceCauses (values: CredentialValues, vars: CredentialVars): Cause[] {
  return (Object.keys(EXPECTED) as SecretKey[]).flatMap((key) => {
    const v = values[key]
    if (v === undefined || v === v.trim()) return []
    const where = v !== v.trimStart() ? 'starts' : 'ends'
    return [{ code: 'credential_whitespace', cause: `${vars[key]} ${where} with whitespace (a space or line break copied with it), so the server compares a different value`, fix: `remove the whitespace from ${vars[key]} (or from the file ${vars[key]}_FILE names)` }]
  })
}

/** Values in the wrong variables: the access-key pair as the client pair, both pairs swapped, a client id as a key. */
export function misplacedCauses (values: CredentialValues, vars: CredentialVars): Cause[] {
  const found = misplaced(values)
  if (found.length === 0) return []
  const has = (key: SecretKey): boolean => found.some((f) => f.key === key)
  const looks = found.map((f) => `${vars[f.key]} looks like ${LOOKS[f.shape]}`).join(', ')
  const swapped = has('clientId') && (has('accessKeyId') || has('accessKeySecret'))
  const what = swapped
    ? 'the client pair and the access-key pair are swapped'
    : has('clientId') || has('clientSecret')
      ? 'the access-key pair was given as the client id and secret'
      : 'a client value was given as the access key'
  return [{
    code: 'credentials_misplaced',
    cause: `${looks}: ${what}`,
    fix: `set ${vars.clientId} and ${vars.clientSecret} to the app's values from NICE (a UUID and its secret), ${vars.accessKeyId} and ${vars.accessKeySecret} to the user's access key from CXone`
  }]
}

import { createHash } from 'node:crypto'
import { SECRET_VARS, type SecretKey, type SecretVars } from '../core/settings.js'
import type { TokenRequest } from '../token/token-client.js'

/**
 * How `check` shows credentials: an id by its first characters, a secret only by its length and a
 * sha256 prefix (compare with `printf %s "$SECRET" | sha256sum`). Pure.
 */

const HASH_CHARS = 4

export function sha256Prefix (value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, HASH_CHARS)
}

/** `<secret, 32 chars, sha256 9f2c…>` */
export function maskSecret (value: string, what = 'secret'): string {
  return `<${what}, ${[...value].length} chars, sha256 ${sha256Prefix(value)}…>`
}

/** `067ed166…`: at most 8 characters and never more than a third of the value. */
export function shortenId (value: string): string {
  const chars = [...value]
  const shown = Math.min(8, Math.floor(chars.length / 3))
  return `${chars.slice(0, shown).join('')}…`
}

/**
 * The decoded shape of a Basic Authorization header as sent, e.g.
 * `Basic base64("067ed166…:<secret, 32 chars, sha256 9f2c…>")`. When a part was form-encoded
 * (RFC 6749 §2.3.1) the shape says so; the hash is always of the configured secret.
 */
export function describeBasic (header: string, clientId: string, clientSecret: string): string {
  const m = /^Basic (.*)$/.exec(header)
  if (m === null) return '<not a Basic header>'
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const sentId = decoded.slice(0, colon)
  const sentSecret = decoded.slice(colon + 1)
  const id = sentId === clientId ? shortenId(clientId) : `${shortenId(clientId)} form-encoded to ${[...sentId].length} chars`
  const secret = sentSecret === clientSecret
    ? maskSecret(clientSecret)
    : `<secret, ${[...clientSecret].length} chars, sha256 ${sha256Prefix(clientSecret)}…, form-encoded to ${[...sentSecret].length} chars>`
  return `Basic base64("${id}:${secret}")`
}

/** The form fields that carry a credential, and which one. */
const FILLED_FROM: Readonly<Record<string, SecretKey>> = {
  username: 'accessKeyId',
  password: 'accessKeySecret',
  client_id: 'clientId',
  client_secret: 'clientSecret'
}

/**
 * The body as sent with every credential replaced by the variable it came from: `grant_type=password&username=<CXONE_ACCESS_KEY_ID>…`
 * (a profile's variables when `vars` are its own).
 */
export function describeBody (body: string, vars: SecretVars = SECRET_VARS): string {
  const parts: string[] = []
  for (const [name, value] of new URLSearchParams(body)) {
    const key = FILLED_FROM[name]
    const from = key === undefined ? undefined : vars[key]
    parts.push(`${name}=${from !== undefined ? `<${from}>` : encodeURIComponent(value)}`)
  }
  return parts.join('&')
}

/** The token request as `check` prints it: every header and field, no secret. */
export function describeTokenRequest (req: TokenRequest, clientId: string, clientSecret: string, vars: SecretVars = SECRET_VARS): Record<string, string | string[]> {
  const shown: Record<string, string | string[]> = { endpoint: req.url }
  shown.contentType = req.headers['content-type'] ?? '(none)'
  shown.accept = req.headers.accept ?? '(none)'
  const auth = req.headers.authorization
  shown.authorization = auth === undefined ? '(none: credentials in the body)' : describeBasic(auth, clientId, clientSecret)
  shown.body = describeBody(req.body, vars)
  shown.bodyFields = [...new URLSearchParams(req.body).keys()]
  return shown
}

/** Shorter values are not scrubbed: they would mangle ordinary words (a secret `wrong` in "is wrong"). */
const MIN_SCRUB = 8

/**
 * Every string that would reveal a secret or token if printed: the values and the forms they travel in
 * (form-encoded, inside a Basic header). `check` scrubs its output of these as a last line of defence.
 */
export function secretForms (values: ReadonlyArray<string | undefined>, basicHeaders: readonly string[] = []): string[] {
  const forms = new Set<string>()
  for (const v of values) {
    if (v === undefined || v.length < MIN_SCRUB) continue
    forms.add(v)
    forms.add(new URLSearchParams([['', v]]).toString().slice(1))
    forms.add(encodeURIComponent(v))
  }
  for (const h of basicHeaders) forms.add(h.replace(/^Basic /, ''))
  return [...forms].filter((f) => f.length >= MIN_SCRUB).sort((a, b) => b.length - a.length)
}

export function scrub (text: string, forms: readonly string[]): string {
  let out = text
  for (const f of forms) out = out.split(f).join('<redacted>')
  return out
}

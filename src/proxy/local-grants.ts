/**
 * The local token endpoints' judgement (issue 23), pure: which grant a client asked for, who it is, and the
 * CXone-shaped refusal when it may not have a token. The I/O (the real token, the answer) is local-auth.ts.
 */
import { isLoopbackHost } from '../core/net.js'
import { verifyPlaceholder, type PlaceholderClaims } from '../token/placeholder.js'

/**
 * The callers hook (issue 22): a caller's name and key → the caller's name, or undefined for a wrong name or key.
 * Absent: no callers are configured, and any credentials are accepted (from loopback, or with inbound keys).
 */
export type Identify = (name: string, secret: string) => string | undefined

export interface GrantInput {
  readonly contentType: string | undefined
  readonly authorization: string | undefined
  readonly body: string
}

export interface GrantRules {
  readonly identify: Identify | undefined
  readonly key: Buffer
  readonly profile: string
  readonly now: number
}

/** A token may be issued (for this caller), or the refusal as CXone answers it. */
export type Grant =
  | { readonly ok: true, readonly caller: string | undefined }
  | { readonly ok: false, readonly status: number, readonly error: string, readonly description: string }

const refuse = (status: number, error: string, description: string): Grant => ({ ok: false, status, error, description })
const FORM = 'application/x-www-form-urlencoded'

/** The body's fields: a form, or (the UserHub endpoint) a JSON object of strings. Undefined: neither. */
export function readFields (contentType: string | undefined, body: string, json: boolean): Map<string, string> | undefined {
  const type = (contentType ?? '').toLowerCase().split(';')[0]?.trim()
  if (type === FORM) return new Map(new URLSearchParams(body))
  if (!json || type !== 'application/json') return undefined
  try {
    const doc: unknown = JSON.parse(body)
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined
    return new Map(Object.entries(doc).filter((e): e is [string, string] => typeof e[1] === 'string'))
  } catch {
    return undefined
  }
}

interface Client { readonly id: string, readonly secret: string, readonly raw?: Client }

/**
 * The client's id and secret: a Basic header or the body. RFC 6749 §2.3.1 form-encodes both before base64; many
 * clients do not (CXONE.md): the form-decoded pair is tried first, then the bytes as sent.
 */
export function clientOf (authorization: string | undefined, fields: Map<string, string>): Client | undefined {
  const m = authorization === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization)
  if (m !== null) {
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return undefined
    const raw = { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
    return { id: formDecode(raw.id), secret: formDecode(raw.secret), raw }
  }
  const id = fields.get('client_id')
  return id === undefined ? undefined : { id, secret: fields.get('client_secret') ?? '' }
}

/**
 * Whether a caller may ask for a token at all. With callers configured its credentials say who it is; without, any
 * credentials are accepted, so only from loopback, or off loopback when inbound keys made it show X-Proxy-Key.
 */
export function mayAsk (remoteAddress: string | undefined, keyed: boolean, identify: Identify | undefined): boolean {
  return identify !== undefined || keyed || isLoopbackHost(remoteAddress ?? '')
}

/** POST /auth/token: password, client_credentials and refresh_token grants, in CXone's shapes. */
export function judgeTokenGrant (req: GrantInput, rules: GrantRules): Grant {
  const fields = readFields(req.contentType, req.body, false)
  const grant = fields?.get('grant_type')
  if (fields === undefined || grant === undefined) return refuse(400, 'invalid_request', 'grant_type is required (is Content-Type application/x-www-form-urlencoded?)')
  const client = clientOf(req.authorization, fields)
  if (grant === 'password') {
    // The access key is the identity; the client id and secret sent with it are not checked.
    return identified(rules, fields.get('username'), fields.get('password'), 400, 'invalid_grant', 'Invalid access key')
  }
  if (grant === 'client_credentials') {
    if (rules.identify !== undefined && client === undefined) return refuse(401, 'invalid_client', 'Bad client credentials')
    const asSent = client?.raw === undefined ? undefined : identified(rules, client.raw.id, client.raw.secret, 401, 'invalid_client', 'Bad client credentials')
    const decoded = identified(rules, client?.id, client?.secret, 401, 'invalid_client', 'Bad client credentials')
    return decoded.ok || asSent === undefined ? decoded : asSent
  }
  if (grant === 'refresh_token') return refreshed(fields.get('refresh_token'), rules)
  return refuse(400, 'unsupported_grant_type', `grant_type ${grant.slice(0, 40)} is not supported`)
}

/** POST /authentication/v1/token/access-key: `accessKeyId` and `accessKeySecret`, JSON or form. */
export function judgeAccessKey (req: GrantInput, rules: GrantRules): Grant {
  const fields = readFields(req.contentType, req.body, true)
  if (fields === undefined) return refuse(400, 'invalid_request', 'send accessKeyId and accessKeySecret as JSON or as a form')
  return identified(rules, fields.get('accessKeyId'), fields.get('accessKeySecret'), 401, 'invalid_grant', 'Invalid access key')
}

/** POST /public/user/refresh: the refresh token in `token`, JSON or form. */
export function judgeUserRefresh (req: GrantInput, rules: GrantRules): Grant {
  const fields = readFields(req.contentType, req.body, true)
  return refreshed(fields?.get('token'), rules)
}

function identified (rules: GrantRules, name: string | undefined, secret: string | undefined, status: number, error: string, description: string): Grant {
  if (rules.identify === undefined) return { ok: true, caller: undefined }
  const caller = name === undefined || secret === undefined ? undefined : rules.identify(name, secret)
  return caller === undefined ? refuse(status, error, description) : { ok: true, caller }
}

/** A refresh placeholder of this profile's, alive: the new tokens carry its caller. */
function refreshed (token: string | undefined, rules: GrantRules): Grant {
  if (token === undefined) return refuse(400, 'invalid_request', 'the refresh token is required')
  const v = verifyPlaceholder(token, { key: rules.key, profile: rules.profile, use: 'refresh', now: rules.now })
  if (v.kind !== 'valid') return refuse(400, 'invalid_grant', 'Invalid refresh token')
  return { ok: true, caller: (v.claims as PlaceholderClaims).caller }
}

function formDecode (value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return value
  }
}

import { randomBytes } from 'node:crypto'

/**
 * The token endpoint's judgement, as strict as CXone's: form content type, the registered client
 * authentication method, the password grant with access keys. Pure apart from token minting.
 */

export interface SimulatorCredentials {
  clientId: string
  clientSecret: string
  accessKeyId: string
  accessKeySecret: string
}

/** Another business unit on the same issuer: its own app and access key, its own tenant (issue 12). */
export interface SimulatorTenant {
  readonly credentials: SimulatorCredentials
  readonly tenantId: string
}

export interface TokenEndpointRules {
  credentials: SimulatorCredentials
  /** How the app is registered: CXone fixes this per app. */
  clientAuth: 'client_secret_basic' | 'client_secret_post'
  /** How the server decodes the Basic header: form-decode (RFC 6749 §2.3.1) or take bytes as they are. */
  basicDecoding: 'rfc6749' | 'raw'
  grants: ReadonlyArray<'password' | 'client_credentials'>
  tenantId: string
  issuer: string
  lifetimeSec: number
  /** Further tenants, told apart by client id; the same method, decoding, grants and lifetime. */
  otherTenants?: readonly SimulatorTenant[]
}

export interface TokenRequestIn {
  contentType: string | undefined
  authorization: string | undefined
  body: string
}

export interface TokenAnswer {
  status: number
  body: Record<string, unknown>
  /** Set on success: the access token and its expiry (epoch ms). */
  issued?: { token: string, expiresAt: number }
}

function oauthError (status: number, error: string, description: string): TokenAnswer {
  return { status, body: { error, error_description: description } }
}

/** Form-decoding of one Basic credential part (RFC 6749 Appendix B); undefined when malformed. */
function formDecode (value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

function clientFromBasic (header: string, decoding: 'rfc6749' | 'raw'): { id: string, secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (m === null || m[1] === undefined) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  const rawId = decoded.slice(0, colon)
  const rawSecret = decoded.slice(colon + 1)
  if (decoding === 'raw') return { id: rawId, secret: rawSecret }
  const id = formDecode(rawId)
  const secret = formDecode(rawSecret)
  return id === undefined || secret === undefined ? undefined : { id, secret }
}

export function judgeTokenRequest (req: TokenRequestIn, rules: TokenEndpointRules, now: number): TokenAnswer {
  // Without the form content type CXone ignores the body, so the grant is missing.
  const isForm = (req.contentType ?? '').toLowerCase().split(';')[0]?.trim() === 'application/x-www-form-urlencoded'
  const form = new URLSearchParams(isForm ? req.body : '')
  const grant = form.get('grant_type')
  if (grant === null) return oauthError(400, 'invalid_request', 'grant_type is required (is Content-Type application/x-www-form-urlencoded?)')

  const basic = req.authorization !== undefined && /^basic\s/i.test(req.authorization)
  const postId = form.get('client_id')
  if (basic && postId !== null) return oauthError(400, 'invalid_request', 'more than one client authentication method')
  let client: { id: string, secret: string } | undefined
  if (rules.clientAuth === 'client_secret_basic') {
    if (!basic) return oauthError(401, 'invalid_client', 'Bad client credentials')
    client = clientFromBasic(req.authorization as string, rules.basicDecoding)
  } else {
    if (basic || postId === null) return oauthError(401, 'invalid_client', 'Bad client credentials')
    client = { id: postId, secret: form.get('client_secret') ?? '' }
  }
  const tenant = rules.otherTenants?.find((t) => t.credentials.clientId === client?.id) ?? rules
  const c = tenant.credentials
  if (client === undefined || client.id !== c.clientId || client.secret !== c.clientSecret) {
    return oauthError(401, 'invalid_client', 'Bad client credentials')
  }

  if (grant !== 'password' && grant !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', `grant_type ${grant} is not supported`)
  if (!rules.grants.includes(grant)) return oauthError(400, 'unauthorized_client', `the client is not authorized for ${grant}`)
  if (grant === 'password' && (form.get('username') !== c.accessKeyId || form.get('password') !== c.accessKeySecret)) {
    return oauthError(400, 'invalid_grant', 'Invalid access key')
  }

  const token = mintToken({ ...rules, tenantId: tenant.tenantId }, now)
  return {
    status: 200,
    body: {
      access_token: token,
      token_type: 'Bearer',
      expires_in: rules.lifetimeSec,
      refresh_token: randomBytes(24).toString('base64url'),
      id_token: mintToken({ ...rules, tenantId: tenant.tenantId }, now),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token'
    },
    // Like real servers: exp is iat + lifetime, both in whole seconds.
    issued: { token, expiresAt: Math.floor(now / 1000) * 1000 + rules.lifetimeSec * 1000 }
  }
}

/** A JWT-shaped token carrying CXone's claims; the signature is random (nothing verifies it). */
export function mintToken (rules: Pick<TokenEndpointRules, 'tenantId' | 'issuer' | 'lifetimeSec'>, now: number): string {
  const iat = Math.floor(now / 1000)
  const header = { alg: 'RS256', typ: 'JWT', kid: 'simulator' }
  const payload = {
    iss: rules.issuer,
    sub: 'user:simulator',
    tenantId: rules.tenantId,
    icBUId: 4600001,
    icClusterId: 'SIM1',
    area: 'na1',
    iat,
    exp: iat + rules.lifetimeSec,
    jti: randomBytes(8).toString('hex')
  }
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${enc(header)}.${enc(payload)}.${randomBytes(32).toString('base64url')}`
}

/**
 * Local auth endpoints (issue 23, PROXY_LOCAL_AUTH): CXone's discovery and token endpoints, answered by the proxy on
 * a profile's listener, so a script that does its own token dance works with only its base URL changed. What it
 * receives are placeholders (src/token/placeholder.ts); the proxy's one real token serves them all, and nothing of
 * the dance reaches CXone.
 *
 *   GET  /.well-known/openid-configuration      issuer and token_endpoint: the proxy's own origin
 *   GET  /.well-known/cxone-configuration       URL fields: the proxy; area, cluster, domain, tenantId: the tenant's
 *   POST /auth/token                            password, client_credentials, refresh_token (form body)
 *   POST /authentication/v1/token/access-key    UserHub access-key login (JSON or form body)
 *   POST /public/user/refresh                   UserHub refresh (`token`)
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Discovery } from '../token/discovery.js'
import { jwtClaims, type TokenSet } from '../token/token-client.js'
import type { TokenProvider } from '../token/token-provider.js'
import { expiresInSec, issuePlaceholder } from '../token/placeholder.js'
import { openidDocument, tenantDocument, TOKEN_PATH } from '../token/local-discovery.js'
import { judgeAccessKey, judgeTokenGrant, mayAsk, judgeUserRefresh, type Grant, type GrantInput, type GrantRules, type Identify } from './local-grants.js'

export const OPENID_PATH = '/.well-known/openid-configuration'
export const TENANT_CONFIG_PATH = '/.well-known/cxone-configuration'
export const ACCESS_KEY_PATH = '/authentication/v1/token/access-key'
export const USER_REFRESH_PATH = '/public/user/refresh'
/** Answered here, never forwarded (admission leaves them out of the route rules). */
export const LOCAL_AUTH_PATHS: ReadonlySet<string> = new Set([OPENID_PATH, TENANT_CONFIG_PATH, TOKEN_PATH, ACCESS_KEY_PATH, USER_REFRESH_PATH])
/** A token request is a few hundred bytes. */
const MAX_GRANT_BODY_BYTES = 16 * 1024
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

export interface LocalAuthOptions {
  readonly profile: string
  /** The proxy's placeholder key (in memory, made at start). */
  readonly key: Buffer
  readonly now: () => number
  readonly provider: TokenProvider
  readonly discovery: Discovery
  /** The proxy's own origin as this caller reached it (PROXY_PUBLIC_URL or the Host). */
  readonly origin: (request: FastifyRequest) => string
  /** Inbound keys are set: admission asked every caller for X-Proxy-Key, so callers off loopback are known. */
  readonly keyed: () => boolean
  /** The callers hook (issue 22); absent: any credentials, from loopback or with inbound keys. */
  readonly identify?: Identify | undefined
}

type Judge = (req: GrantInput, rules: GrantRules) => Grant

export async function localAuthPlugin (scope: FastifyInstance, o: LocalAuthOptions): Promise<void> {
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_GRANT_BODY_BYTES }, (_req, body, done) => { done(null, body) })
  // A body Fastify cannot take (too large, an empty Content-Type) is refused in CXone's shape too; the rest as usual.
  scope.setErrorHandler((err: FastifyError, _request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') oauthError(reply, 413, 'invalid_request', `the request body is larger than ${MAX_GRANT_BODY_BYTES} bytes`)
    else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) oauthError(reply, 400, 'invalid_request', 'send the fields as application/x-www-form-urlencoded (or JSON, for the access-key endpoints)')
    else throw err
  })

  scope.all(OPENID_PATH, async (request, reply) => {
    if (!allowed(request, reply, 'GET')) return
    const origin = o.origin(request)
    return await reply.send(openidDocument(origin))
  })

  scope.all(TENANT_CONFIG_PATH, async (request, reply) => {
    if (!allowed(request, reply, 'GET')) return
    const token = await realToken()
    const tenantId = (request.query as Record<string, unknown>).tenantId
    if (tenantId !== token.tenantId) return await reply.code(404).send({ error: 'tenant_not_found' })
    // The tenant's fields come with its hosts: wait for the look-up the token's arrival started.
    if (!o.discovery.isStatic) await o.discovery.hosts(token.tenantId).catch(() => { /* the token's claims serve */ })
    return await reply.send(tenantDocument(token, o.discovery.tenantFields(token.tenantId), o.origin(request)))
  })

  scope.all(TOKEN_PATH, async (request, reply) => { await grant(request, reply, judgeTokenGrant, true) })
  scope.all(ACCESS_KEY_PATH, async (request, reply) => { await grant(request, reply, judgeAccessKey, false) })
  scope.all(USER_REFRESH_PATH, async (request, reply) => { await grant(request, reply, judgeUserRefresh, false) })

  async function grant (request: FastifyRequest, reply: FastifyReply, judge: Judge, oauth: boolean): Promise<void> {
    if (!allowed(request, reply, 'POST')) return
    if (!mayAsk(request.socket.remoteAddress, o.keyed(), o.identify)) {
      oauthError(reply, 401, 'invalid_client', 'this proxy issues tokens without credentials to loopback callers only: configure callers or PROXY_API_KEYS')
      return
    }
    const now = o.now()
    const g = judge({
      contentType: request.headers['content-type'],
      authorization: request.headers.authorization,
      body: typeof request.body === 'string' ? request.body : ''
    }, { identify: o.identify, key: o.key, profile: o.profile, now })
    if (!g.ok) {
      oauthError(reply, g.status, g.error, g.description)
      return
    }
    const real = await realToken()
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    await reply.send(tokenAnswer(real, g.caller, { ...o, issuer: o.origin(request) }, o.now(), oauth))
  }

  async function realToken (): Promise<TokenSet> {
    return o.provider.current() ?? await o.provider.getToken()
  }
}

/** Answers CXone's shape for a method the endpoint does not take; false when the method is right. */
function allowed (request: FastifyRequest, reply: FastifyReply, method: 'GET' | 'POST'): boolean {
  if (request.method === method || (method === 'GET' && request.method === 'HEAD')) return true
  reply.header('allow', method === 'GET' ? 'GET, HEAD' : 'POST')
  oauthError(reply, 405, 'invalid_request', `use ${method}`)
  return false
}

function oauthError (reply: FastifyReply, status: number, error: string, description: string): void {
  void reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description })
}

/** The answer in CXone's shape: an access, a refresh and an id placeholder, never the real token. */
export function tokenAnswer (real: TokenSet, caller: string | undefined, o: Pick<LocalAuthOptions, 'key' | 'profile'> & { issuer: string }, now: number, oauth: boolean): Record<string, unknown> {
  const claims = jwtClaims(real.accessToken)
  const base = { real: claims, realExpiresAt: real.expiresAt, profile: o.profile, caller, key: o.key, now, issuer: o.issuer }
  const access = issuePlaceholder({ ...base, use: 'access' })
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: expiresInSec(access.claims, now),
    refresh_token: issuePlaceholder({ ...base, use: 'refresh' }).token,
    id_token: issuePlaceholder({ ...base, use: 'id' }).token,
    ...(oauth ? { issued_token_type: ACCESS_TOKEN_TYPE } : {})
  }
}

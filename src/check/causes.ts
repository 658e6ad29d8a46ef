import { remedyFor } from '../token/token-client.js'
import { classifyNetworkError, describeNetworkError } from '../core/net-errors.js'
import { DEFAULT_PROFILE, secretVars, settingName, type BasicEncoding, type ClientAuthMethod, type GrantType } from '../core/settings.js'
import type { Cause, CauseCode } from './report.js'
import { misplacedCauses, whitespaceCauses, type CredentialValues } from './shapes.js'

/** The likely causes of each failure, most likely first, each with its fix. Pure. */

/** What a fix tells the reader to set: the default profile's variables, or a profile's own (issue 12). */
export interface CheckNames {
  readonly clientId: string
  readonly clientSecret: string
  readonly accessKeyId: string
  readonly accessKeySecret: string
  readonly issuer: string
  readonly tokenUrl: string
  readonly apiUrl: string
  readonly clientAuth: string
  readonly basicEncoding: string
  readonly tokenTimeoutMs: string
  /** The `--probe` run that settles between method and encoding, e.g. `cxone-auth-proxy check --probe --profile emea`. */
  readonly probeCommand: string
}

export function checkNames (profile: string): CheckNames {
  const { clientId, clientSecret, accessKeyId, accessKeySecret } = secretVars(profile)
  const name = (key: 'issuer' | 'tokenUrl' | 'apiUrl' | 'clientAuth' | 'basicEncoding' | 'tokenTimeoutMs'): string => settingName(profile, key)
  return { clientId, clientSecret, accessKeyId, accessKeySecret, issuer: name('issuer'), tokenUrl: name('tokenUrl'), apiUrl: name('apiUrl'), clientAuth: name('clientAuth'), basicEncoding: name('basicEncoding'), tokenTimeoutMs: name('tokenTimeoutMs'), probeCommand: `cxone-auth-proxy check --probe${profile === DEFAULT_PROFILE ? '' : ` --profile ${profile}`}` }
}

/** CXONE_CLIENT_ID, CXONE_ISSUER, …: the names for the default profile. */
export const DEFAULT_NAMES: CheckNames = Object.freeze(checkNames(DEFAULT_PROFILE))

export interface AuthContext {
  clientAuth: ClientAuthMethod
  basicEncoding: BasicEncoding
  grantType: GrantType
  /** The id or secret encodes differently under rfc6749 and raw Basic. */
  encodingsDiffer: boolean
  /** token_endpoint_auth_methods_supported from discovery, when known. */
  methodsOffered: readonly string[] | undefined
  /** The names fixes use (default: DEFAULT_NAMES). */
  names?: CheckNames
  /** The credentials as configured, to tell a misplaced or padded value from a wrong one (shapes.ts). */
  values?: CredentialValues
  /** The issuer the token request went to, when known. */
  issuer?: string
}

const OTHER_METHOD = { client_secret_basic: 'client_secret_post', client_secret_post: 'client_secret_basic' } as const
const OTHER_ENCODING = { rfc6749: 'raw', raw: 'rfc6749' } as const

/**
 * invalid_client: the server did not accept the client id and secret as sent. When a probe has tried
 * every method and encoding (`probed`), only the id, the secret and the registration remain.
 */
export function invalidClientCauses (ctx: AuthContext, probed = false): Cause[] {
  const other = OTHER_METHOD[ctx.clientAuth]
  const n = ctx.names ?? DEFAULT_NAMES
  const values = valueCauses(ctx, ['clientId', 'clientSecret'])
  const wrong: Cause = {
    code: 'wrong_client_credentials',
    cause: 'the client id or secret is wrong (a typo, a stale secret, or the values of another app)',
    fix: `compare ${n.clientId} and the secret's length and sha256 prefix shown above with what NICE issued for the app (\`printf %s "$${n.clientSecret}" | sha256sum\`)${ctx.issuer === undefined ? '' : `; if they are right, ${ctx.issuer} may be another tenant's or cloud's issuer, which does not know the app: set ${n.issuer} to the one NICE registered it with (https://cxone.niceincontact.com commercial, https://cxone-gov.niceincontact.com FedRAMP)`}`
  }
  const approval: Cause = {
    code: 'app_not_approved',
    cause: 'the app registration is not approved yet, or was disabled',
    fix: 'ask NICE or your CXone administrator to confirm the app registration is approved and active for this tenant'
  }
  if (probed) return [...values, wrong, approval]
  const offered = ctx.methodsOffered !== undefined && !ctx.methodsOffered.includes(ctx.clientAuth)
    ? ` (the discovery document does not even list ${ctx.clientAuth})`
    : ''
  const method: Cause = {
    code: 'client_auth_method_mismatch',
    cause: `the app is registered for ${other}, not ${ctx.clientAuth}${offered}: NICE fixes the method per app`,
    fix: `run \`cxone-auth-proxy check --probe\`, or set ${n.clientAuth}=${other}`
  }
  if (ctx.clientAuth === 'client_secret_basic' && ctx.encodingsDiffer) {
    const encoding: Cause = {
      code: 'basic_encoding_mismatch',
      cause: `the server decodes the Basic header differently: the secret has characters that ${ctx.basicEncoding === 'rfc6749' ? 'RFC 6749 form-encodes, and the server may take them raw' : 'were sent raw, and the server may form-decode them (RFC 6749 §2.3.1)'}`,
      fix: `run \`cxone-auth-proxy check --probe\`, or set ${n.basicEncoding}=${OTHER_ENCODING[ctx.basicEncoding]}`
    }
    return [...values, encoding, wrong, method, approval]
  }
  return [...values, wrong, approval, method]
}

/** A value with whitespace around it, or in the wrong variable, comes before any guess about encoding. */
function valueCauses (ctx: AuthContext, keys: ReadonlyArray<keyof CredentialValues>): Cause[] {
  if (ctx.values === undefined) return []
  const vars = ctx.names ?? DEFAULT_NAMES
  const own = Object.fromEntries(keys.map((k) => [k, ctx.values?.[k]]))
  return [...whitespaceCauses(own, vars), ...misplacedCauses(ctx.values, vars)]
}

/** invalid_grant: the client was accepted, the user's access key was not. */
export function invalidGrantCauses (ctx: AuthContext): Cause[] {
  if (ctx.grantType !== 'password') return [{ code: 'grant_not_allowed', cause: 'the app may not use the client_credentials grant', fix: remedyFor('unauthorized_client') }]
  const n = ctx.names ?? DEFAULT_NAMES
  return [
    ...valueCauses(ctx, ['accessKeyId', 'accessKeySecret']),
    {
      code: 'wrong_access_key',
      cause: `the access key is wrong: ${n.accessKeyId} and ${n.accessKeySecret} do not match a key`,
      fix: 'copy both again from CXone (the user\'s Access Keys tab), the secret whole, including its trailing = padding, and not URL-encoded'
    },
    { code: 'access_key_revoked', cause: 'the access key was revoked or deactivated', fix: 'create a new access key for the user in CXone and set both variables to it' },
    { code: 'access_key_user_inactive', cause: 'the access key\'s user is deactivated or locked', fix: 'reactivate the user in CXone, or use an access key of an active user' }
  ]
}

/** Any other OAuth error (unauthorized_client, invalid_scope, …): the shared remedy table. */
export function oauthErrorCauses (error: string, description: string | undefined, ctx: AuthContext): Cause[] {
  if (error === 'invalid_client') return invalidClientCauses(ctx)
  if (error === 'invalid_grant') return invalidGrantCauses(ctx)
  return [{ code: 'token_request_refused', cause: `the token endpoint refused the request: ${error}${description !== undefined ? ` (${description})` : ''}`, fix: remedyFor(error) }]
}

/** What a URL that answered wrongly failed to be: a script learns from the code which URL to fix. */
export type WrongUrlCode = Extract<CauseCode, 'not_a_token_endpoint' | 'not_an_issuer' | 'not_an_api_discovery_document' | 'not_an_api_host'>

/** An answer that is not from an OAuth token endpoint (HTML, empty, 404, JSON without the expected field). */
export function wrongUrlCauses (code: WrongUrlCode, what: string, url: string, urlVar: string, names: CheckNames = DEFAULT_NAMES, note?: string): Cause[] {
  return [
    {
      code,
      cause: `${url} is not ${what}: ${note ?? 'wrong URL or region'}`,
      fix: `${urlVar === names.issuer ? `set ${names.issuer}` : `set ${urlVar} (or unset it to discover it from ${names.issuer})`} to your region's URL: the commercial issuer is https://cxone.niceincontact.com (token endpoint …/auth/token, never /oauth2/token), FedRAMP is https://cxone-gov.niceincontact.com`
    },
    {
      code: 'intermediary_answered',
      cause: 'a corporate proxy, captive portal or login page answered instead of CXone',
      fix: `open ${url} from this machine (curl -i) and see who answers; allow direct HTTPS to CXone`
    }
  ]
}

export function redirectCauses (url: string, location: string | null, urlVar: string): Cause[] {
  return [{
    code: 'redirect_not_followed',
    cause: `${url} redirects${location !== null ? ` to ${location}` : ''}: redirects are not followed, so credentials never travel to another address`,
    fix: `set ${urlVar} to the final URL`
  }]
}

export function serverFailingCauses (status: number, retryAfter: string | null): Cause[] {
  return [{
    code: status === 429 ? 'rate_limited' : 'server_failing',
    cause: status === 429 ? 'the server is rate-limiting (429)' : `the server is failing (${status})`,
    fix: `retry later${retryAfter !== null ? ` (it asked for Retry-After: ${retryAfter})` : ''}; if it persists, check NICE's status page`
  }]
}

export interface NetworkContext {
  url: string
  urlVar: string
  timeoutMs: number
  /** HTTPS_PROXY or the like is set. */
  envProxy: boolean
  /** The names fixes use (default: DEFAULT_NAMES). */
  names?: CheckNames
}

export function networkCauses (err: unknown, ctx: NetworkContext): Cause[] {
  const host = new URL(ctx.url).host
  if (isBlockedPort(err)) {
    const { port, origin } = new URL(ctx.url)
    return [{ code: 'port_blocked', cause: `port ${port} of ${ctx.urlVar} (${origin}) is a port fetch never connects to (the Fetch standard's blocked ports), so nothing was sent`, fix: `set ${ctx.urlVar} to the address the server listens on; CXone's are https:// without a port` }]
  }
  const detail = describeNetworkError(err, ctx.timeoutMs)
  switch (classifyNetworkError(err).kind) {
    case 'dns':
      return [{ code: 'dns_failure', cause: `DNS lookup of ${host} failed: the host name is mistyped or for another region, or this machine cannot resolve it`, fix: `check ${ctx.urlVar} (${ctx.url}); try \`nslookup ${new URL(ctx.url).hostname}\`` }]
    case 'tls':
      return [{ code: 'tls_untrusted', cause: `the TLS certificate of ${host} is not trusted (${detail}): usually a corporate proxy that inspects TLS`, fix: 'point NODE_EXTRA_CA_CERTS at your organisation\'s CA bundle; never turn TLS verification off' }]
    case 'timeout':
    case 'connect_timeout': {
      const proxyNote = ctx.envProxy ? '; HTTPS_PROXY is set: token and discovery requests go through it, so check that the proxy it names is reachable' : ''
      return [
        { code: 'network_timeout', cause: `no answer from ${host} within ${ctx.timeoutMs} ms: a firewall drops the traffic, or outbound HTTPS must go through a proxy${proxyNote}`, fix: `check that this machine reaches ${host} (curl -v ${ctx.url})` },
        { code: 'endpoint_slow', cause: 'the network or the server is only slow', fix: `raise ${(ctx.names ?? DEFAULT_NAMES).tokenTimeoutMs}` }
      ]
    }
    case 'refused':
      return [{ code: 'connection_refused', cause: `nothing listens at ${host} (connection refused)`, fix: `check the host and port in ${ctx.urlVar} (${ctx.url})` }]
    case 'reset':
    case 'other':
      return [{ code: 'connection_failed', cause: `the connection to ${host} failed: ${detail}`, fix: `check network access from this machine to ${host} (curl -v ${ctx.url})` }]
  }
}

/** fetch refuses a blocked port (1, 7, 9, …; the Fetch standard's "bad port") before connecting: undici says `bad port`. */
function isBlockedPort (err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.message === 'bad port') return true
  return false
}

/**
 * What a client pointed at the proxy is told by discovery (issue 23, PROXY_LOCAL_AUTH): CXone's two documents with
 * every URL naming the proxy. Pure; served by src/proxy/local-auth.ts and shown by `check`.
 */
import { jwtClaims, type TokenSet } from './token-client.js'

export const TOKEN_PATH = '/auth/token'

/** `/.well-known/openid-configuration`: issuer and token endpoint are the proxy's own origin. */
export function openidDocument (origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    token_endpoint: `${origin}${TOKEN_PATH}`,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    grant_types_supported: ['password', 'client_credentials', 'refresh_token'],
    response_types_supported: ['token']
  }
}

/**
 * `/.well-known/cxone-configuration` as CXone answers it, every URL pointing at the proxy: the tenant's discovered
 * fields, or (with CXONE_API_URL, nothing discovered) what the real token's claims carry.
 */
export function tenantDocument (real: TokenSet, discovered: Readonly<Record<string, unknown>> | undefined, origin: string): Record<string, unknown> {
  const claims = jwtClaims(real.accessToken) ?? {}
  const fields = discovered ?? {
    tenantId: real.tenantId,
    ...(typeof claims.area === 'string' ? { area: claims.area } : {}),
    ...(typeof claims.icClusterId === 'string' ? { cluster: claims.icClusterId } : {})
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'string' && /^https?:\/\//i.test(v) ? origin : v
  return { ...out, api_endpoint: origin, ui_endpoint: origin, auth_endpoint: origin }
}

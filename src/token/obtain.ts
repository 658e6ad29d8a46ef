import type { Credentials, Settings } from '../core/config.js'
import type { Discovery } from './discovery.js'
import { buildTokenRequest, parseTokenResponse, sendTokenRequest, type FetchFn, type TokenRequestParams, type TokenSet } from './token-client.js'

/** The token request's parameters from the configuration and the discovered endpoint. */
export function tokenParams (s: Settings, c: Credentials, tokenUrl: string): TokenRequestParams {
  return {
    tokenUrl,
    grantType: s.grantType,
    clientAuth: s.clientAuth,
    basicEncoding: s.basicEncoding,
    scope: s.scope,
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret
  }
}

/** One attempt: discover the token endpoint, send the request, judge the answer. */
export function createObtain (
  s: Settings,
  c: Credentials,
  discovery: Discovery,
  fetchFn: FetchFn,
  now: () => number,
  onApiOriginProblem: (err: unknown) => void = () => {}
): () => Promise<TokenSet> {
  return async () => {
    const endpoint = await discovery.tokenEndpoint()
    const sentAt = now()
    const raw = await sendTokenRequest(buildTokenRequest(tokenParams(s, c, endpoint)), fetchFn, s.tokenTimeoutMs)
    const token = parseTokenResponse(raw, now(), sentAt)
    // Warm the API origin so the first proxied call does not wait for it.
    discovery.apiOrigin(token.tenantId).catch(onApiOriginProblem)
    return token
  }
}

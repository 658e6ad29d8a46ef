import { ProxyError } from '../core/errors.js'
import { parseTokenResponse, type TokenSet } from '../token/token-client.js'
import { answerLine, bodyKind, excerpt, oauthFields, tokenEndpointError, wrongTokenPath } from './answer.js'
import { DEFAULT_NAMES, networkCauses, oauthErrorCauses, redirectCauses, serverFailingCauses, wrongUrlCauses, type AuthContext, type NetworkContext } from './causes.js'
import type { Observation } from './http.js'
import type { Judged } from './judge-discovery.js'
import { step, type Cause, type Detail } from './report.js'

/**
 * Judges the token endpoint's answer with the same parser `start` uses (parseTokenResponse), then
 * explains a failure. Pure.
 */
export function judgeTokenResponse (obs: Observation, now: number, auth: AuthContext, net: NetworkContext): Judged<TokenSet> {
  const failed = (summary: string, causes: Cause[], details: Record<string, Detail> = {}): Judged<TokenSet> => ({
    step: step('token response', 'fail', summary, details),
    value: undefined,
    diagnosis: { problem: `the token endpoint gave no token: ${summary}`, causes, ...settle(causes, auth) }
  })
  if (obs.kind === 'network') return failed(answerLine(obs, net.timeoutMs), networkCauses(obs.error, net))
  const raw = { status: obs.status, contentType: obs.contentType, retryAfter: obs.retryAfter, text: obs.text }
  let token: TokenSet
  try {
    token = parseTokenResponse(raw, now)
  } catch (err) {
    if (!(err instanceof ProxyError)) throw err
    const { error, description } = oauthFields(obs.text)
    const details: Record<string, Detail> = { status: obs.status, contentType: obs.contentType || '(none)' }
    if (error !== undefined) details.error = error
    if (description !== undefined) details.description = description
    const kind = bodyKind(obs.contentType, obs.text)
    if (error === undefined && (kind === 'html' || kind === 'other')) details.excerpt = excerpt(obs.text)
    return failed(answerLine(obs, net.timeoutMs), causesFor(obs, err, auth, net), details)
  }
  const details: Record<string, Detail> = {
    status: obs.status,
    tokenType: token.tokenType,
    lifetimeSec: token.lifetimeSec,
    tenantId: token.tenantId ?? null,
    fingerprint: token.fingerprint
  }
  return { step: step('token response', 'ok', `${obs.status}: a Bearer token for ${token.lifetimeSec} s`, details), value: token, diagnosis: undefined }
}

function causesFor (obs: Observation & { kind: 'answer' }, err: ProxyError, auth: AuthContext, net: NetworkContext): Cause[] {
  if (obs.status === 429 || obs.status >= 500) return serverFailingCauses(obs.status, obs.retryAfter)
  if (obs.status >= 300 && obs.status < 400) return redirectCauses(net.url, obs.location, net.urlVar)
  const wrongPath = wrongTokenPath(net.url)
  const refusal = tokenEndpointError(obs)
  if (wrongPath === undefined && refusal?.error !== undefined) return oauthErrorCauses(refusal.error, refusal.description, auth)
  if (wrongPath === undefined && obs.status === 200 && bodyKind(obs.contentType, obs.text) === 'json' && err.code === 'token_invalid_response' && err.answerField !== 'access_token') {
    return [{ code: 'unusable_token_response', cause: err.message, fix: 'report this answer to NICE; the proxy cannot use it' }]
  }
  return wrongUrlCauses('not_a_token_endpoint', 'CXone\'s token endpoint', net.url, net.urlVar, net.names, wrongPath)
}

/** Method or encoding among the causes: one `--probe` run tells them apart. */
function settle (causes: readonly Cause[], auth: AuthContext): { settle?: string } {
  if (!causes.some((c) => c.code === 'client_auth_method_mismatch' || c.code === 'basic_encoding_mismatch')) return {}
  return { settle: `run \`${(auth.names ?? DEFAULT_NAMES).probeCommand}\`: it tries each client authentication variant once and names the one the server accepts` }
}

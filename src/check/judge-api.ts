import { answerLine, bodyKind, excerpt } from './answer.js'
import { DEFAULT_NAMES, networkCauses, redirectCauses, serverFailingCauses, wrongUrlCauses, type NetworkContext } from './causes.js'
import type { Observation } from './http.js'
import type { Judged } from './judge-discovery.js'
import { step, type Cause, type Detail } from './report.js'

/** The read-only API call through the token: any 2xx proves the token works on this API host. */
export function judgeApiCall (url: string, obs: Observation, net: NetworkContext): Judged<true> {
  const failed = (summary: string, causes: Cause[], details: Record<string, Detail> = {}): Judged<true> => ({
    step: step('API call', 'fail', `GET ${url} → ${summary}`, details),
    value: undefined,
    diagnosis: { problem: 'the token was issued, but the API call with it failed', causes }
  })
  if (obs.kind === 'network') return failed(answerLine(obs, net.timeoutMs), networkCauses(obs.error, net))
  const line = answerLine(obs, net.timeoutMs)
  if (obs.status >= 200 && obs.status < 300) {
    const details: Record<string, Detail> = { status: obs.status }
    const serverTime = /"ServerTime"\s*:\s*"([^"]{1,64})"/.exec(obs.text)?.[1]
    if (serverTime !== undefined) details.serverTime = serverTime
    return { step: step('API call', 'ok', `GET ${url} → ${obs.status}`, details), value: true, diagnosis: undefined }
  }
  if (obs.status === 401) {
    return failed(line, [
      { code: 'api_host_wrong_region', cause: 'the API host does not accept this tenant\'s token: it belongs to another region or cluster', fix: `unset ${(net.names ?? DEFAULT_NAMES).apiUrl} so the API host is discovered for the tenant, or set it to the api_endpoint of {issuer}/.well-known/cxone-configuration?tenantId=…` },
      { code: 'token_revoked', cause: 'the token was revoked as soon as it was issued', fix: 'run check again; if it persists, ask your CXone administrator' }
    ])
  }
  if (obs.status === 403) {
    return failed(line, [{ code: 'api_permission_missing', cause: 'the token is valid but not allowed this API', fix: 'ask your CXone administrator to grant the app registration and the access key\'s user access to the Admin / Real-time APIs' }])
  }
  if (obs.status >= 300 && obs.status < 400) return failed(line, redirectCauses(url, obs.location, net.urlVar))
  if (obs.status === 429 || obs.status >= 500) return failed(line, serverFailingCauses(obs.status, obs.retryAfter))
  const kind = bodyKind(obs.contentType, obs.text)
  return failed(line, wrongUrlCauses('not_an_api_host', 'a CXone API host', url, net.urlVar, net.names), kind === 'html' || kind === 'other' ? { excerpt: excerpt(obs.text) } : {})
}

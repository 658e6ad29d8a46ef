import { ProxyError } from '../core/errors.js'
import { classifyNetworkError, errorChain, innermostCode } from '../core/net-errors.js'
import { isNamedUpstream, UPSTREAM_SETTINGS } from '../core/routing.js'
import { settingName } from '../core/settings.js'

/** The setting that names an upstream's host, as this profile spells it (CXONE_DIGITAL_URL, profiles.emea.uiUrl, …). */
export function upstreamSettingName (profile: string, upstream: string): string {
  return isNamedUpstream(upstream) ? settingName(profile, UPSTREAM_SETTINGS[upstream]) : `the "upstreams" entry for ${upstream}`
}

/**
 * Maps a failure to reach the API into the error table (RFC 9209 types in Proxy-Status). `setting`: the one that
 * names this upstream's host (upstreamSettingName), for a host that does not resolve.
 */
export function mapUpstreamError (err: unknown, origin: string, upstreamStatus?: number, setting?: string): ProxyError {
  // A refusal of ours that surfaced through undici (the body limit cutting an upload) keeps its own code.
  for (const e of errorChain(err)) if (e instanceof ProxyError) return e
  const { kind, code } = classifyNetworkError(err)
  const facts = { cause: err, networkCode: code, upstreamStatus }
  switch (kind) {
    case 'refused':
      return new ProxyError('destination_unavailable', `the CXone API at ${origin} refused the connection`, { ...facts, proxyStatus: 'connection_refused' })
    case 'dns':
      return new ProxyError('destination_unavailable', `the CXone host ${origin} could not be resolved (${code ?? 'DNS'}): check DNS, or ${setting ?? 'the setting of the upstream this path goes to (CXONE_API_URL, CXONE_UI_URL or CXONE_DIGITAL_URL)'} (\`cxone-auth-proxy check --route <path>\` shows where a path goes)`, { ...facts, proxyStatus: 'dns_error' })
    case 'connect_timeout':
      return new ProxyError('connection_timeout', `connecting to the CXone API at ${origin} timed out`, facts)
    case 'timeout':
      return new ProxyError('connection_timeout', `the CXone API at ${origin} did not answer in time (PROXY_UPSTREAM_TIMEOUT_MS)`, facts)
    case 'tls':
      return new ProxyError('tls_certificate_error', `the TLS certificate of ${origin} is not trusted (${code ?? 'TLS'}): if your network inspects TLS, add its CA with NODE_EXTRA_CA_CERTS`, facts)
    case 'reset':
      return new ProxyError('destination_unavailable', `the CXone API at ${origin} closed the connection`, { ...facts, proxyStatus: 'connection_terminated' })
    case 'other':
      return new ProxyError('destination_unavailable', `the CXone API at ${origin} could not be reached`, facts)
  }
}

/** A failure while a response's body was read (its head had arrived): it broke off, or stalled past the timeout. */
export function mapBrokenResponse (err: unknown, origin: string, upstreamStatus: number): ProxyError {
  for (const e of errorChain(err)) if (e instanceof ProxyError) return e
  if (classifyNetworkError(err).kind === 'timeout') return mapUpstreamError(err, origin, upstreamStatus)
  const code = innermostCode(err)
  return new ProxyError('upstream_invalid_response', `the CXone API's answer from ${origin} broke off (${code ?? 'no code'})`, { cause: err, networkCode: code, upstreamStatus })
}

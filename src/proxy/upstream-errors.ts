import { ProxyError } from '../core/errors.js'

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|SSL|HOSTNAME_MISMATCH|ALTNAME/

/** Walks an error and its causes (reply-from wraps undici's error in its own). */
function* chain (err: unknown): Generator<{ code?: string, name?: string, message?: string }> {
  let e: unknown = err
  for (let depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    yield e as { code?: string, name?: string, message?: string }
    e = (e as { cause?: unknown }).cause
  }
}

/** The innermost error code (ECONNREFUSED, UND_ERR_…), for a one-line log without a stack. */
export function causeCode (err: unknown): string | undefined {
  let code: string | undefined
  for (const e of chain(err)) if (typeof e.code === 'string') code = e.code
  return code
}

/** Maps a failure to reach the API into the error table (RFC 9209 types in Proxy-Status). */
export function mapUpstreamError (err: unknown, origin: string): ProxyError {
  for (const e of chain(err)) {
    if (e instanceof ProxyError) return e
    const code = e.code ?? ''
    if (code === 'ECONNREFUSED') {
      return new ProxyError('destination_unavailable', `the CXone API at ${origin} refused the connection`, { cause: err, proxyStatus: 'connection_refused' })
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new ProxyError('destination_unavailable', `the CXone API host of ${origin} could not be resolved (${code}): check DNS or CXONE_API_URL`, { cause: err, proxyStatus: 'dns_error' })
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new ProxyError('connection_timeout', `connecting to the CXone API at ${origin} timed out`, { cause: err })
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT' || code === 'FST_REPLY_FROM_TIMEOUT') {
      return new ProxyError('connection_timeout', `the CXone API at ${origin} did not answer in time (PROXY_UPSTREAM_TIMEOUT_MS)`, { cause: err })
    }
    if (TLS_CODES.test(code)) {
      return new ProxyError('tls_certificate_error', `the TLS certificate of ${origin} is not trusted (${code}): if your network inspects TLS, add its CA with NODE_EXTRA_CA_CERTS`, { cause: err })
    }
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
      return new ProxyError('destination_unavailable', `the CXone API at ${origin} closed the connection`, { cause: err, proxyStatus: 'connection_terminated' })
    }
  }
  return new ProxyError('destination_unavailable', `the CXone API at ${origin} could not be reached`, { cause: err })
}

import { describe, expect, it } from 'vitest'
import { classifyNetworkError, describeNetworkError } from '../src/core/net-errors.js'
import { mapUpstreamError } from '../src/proxy/upstream-errors.js'

// The one classifier is shared by the token layer, the forwarding path and `check`: one table for all three.
const fetchFailure = (code: string): Error => new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) })
const wrapped = (code: string): Error => new Error('outer', { cause: new Error('middle', { cause: Object.assign(new Error(code), { code }) }) })

describe('network failures', () => {
  const table: Array<[string, Error, string, string, string]> = [
    // name, error, kind, proxy error code, Proxy-Status type
    ['DNS (ENOTFOUND)', fetchFailure('ENOTFOUND'), 'dns', 'destination_unavailable', 'dns_error'],
    ['DNS (EAI_AGAIN)', fetchFailure('EAI_AGAIN'), 'dns', 'destination_unavailable', 'dns_error'],
    ['refused', fetchFailure('ECONNREFUSED'), 'refused', 'destination_unavailable', 'connection_refused'],
    ['TLS leaf', fetchFailure('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls', 'tls_certificate_error', 'tls_certificate_error'],
    ['TLS altname', wrapped('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls', 'tls_certificate_error', 'tls_certificate_error'],
    ['self-signed', wrapped('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls', 'tls_certificate_error', 'tls_certificate_error'],
    ['fetch timeout', Object.assign(new Error('t'), { name: 'TimeoutError' }), 'timeout', 'connection_timeout', 'connection_timeout'],
    ['headers timeout', wrapped('UND_ERR_HEADERS_TIMEOUT'), 'timeout', 'connection_timeout', 'connection_timeout'],
    ['connect timeout', wrapped('UND_ERR_CONNECT_TIMEOUT'), 'connect_timeout', 'connection_timeout', 'connection_timeout'],
    ['reset', fetchFailure('ECONNRESET'), 'reset', 'destination_unavailable', 'connection_terminated'],
    ['socket closed', wrapped('UND_ERR_SOCKET'), 'reset', 'destination_unavailable', 'connection_terminated'],
    ['unknown', new Error('odd'), 'other', 'destination_unavailable', 'destination_unavailable']
  ]
  it.each(table)('%s', (_name, err, kind, code, proxyStatus) => {
    expect(classifyNetworkError(err).kind).toBe(kind)
    const mapped = mapUpstreamError(err, 'https://api.example.test')
    expect({ code: mapped.code, proxyStatus: mapped.proxyStatus }).toEqual({ code, proxyStatus })
  })

  it('describes each kind with its code and, where there is one, the fix', () => {
    expect(describeNetworkError(fetchFailure('ECONNREFUSED'))).toBe('connection refused (ECONNREFUSED)')
    expect(describeNetworkError(fetchFailure('ENOTFOUND'))).toBe('DNS lookup failed (ENOTFOUND): check the host name and region')
    expect(describeNetworkError(wrapped('CERT_HAS_EXPIRED'))).toBe('TLS certificate not trusted (CERT_HAS_EXPIRED): add your CA with NODE_EXTRA_CA_CERTS')
    expect(describeNetworkError(Object.assign(new Error('t'), { name: 'TimeoutError' }), 250)).toBe('no answer within 250 ms')
    expect(describeNetworkError(wrapped('EHOSTUNREACH'))).toBe('EHOSTUNREACH: EHOSTUNREACH')
  })
})

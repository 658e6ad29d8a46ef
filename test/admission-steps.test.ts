import { describe, expect, it } from 'vitest'
import { admit, checkBodyLimit, checkHeaders, checkHost, checkKey, checkOrigin, checkRoute, checkTarget, compileRules, type AdmissionRules, type RequestHead } from '../src/proxy/admission.js'
import { compileRoute, serverView } from '../src/core/paths.js'
import { loadConfig } from '../src/core/config.js'
import { ProxyError } from '../src/core/errors.js'

// Each admission step as a table: input → the error code it answers with (or null when it lets the request on).

function rules (env: Record<string, string> = {}, keys: string[] = []): AdmissionRules {
  const config = loadConfig({ env: { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret', ...env }, skipDefaultFile: true })
  return compileRules(config.settings, keys)
}

function head (over: Partial<RequestHead> & { extraRaw?: string[] } = {}): RequestHead {
  const headers = { host: '127.0.0.1:8080', ...(over.headers ?? {}) }
  const rawHeaders = over.rawHeaders ?? [...Object.entries(headers).flatMap(([k, v]) => [k, String(v)]), ...(over.extraRaw ?? [])]
  return { method: over.method ?? 'GET', url: over.url ?? '/inContactAPI/services/v31.0/skills/activity', headers, rawHeaders }
}

function codeOf (fn: () => unknown): string | null {
  try {
    fn()
    return null
  } catch (err) {
    if (err instanceof ProxyError) return err.code
    throw err
  }
}

const plain = rules()

describe('step 1: target', () => {
  it.each([
    ['/inContactAPI/services/v31.0/skills/activity?top=3', null],
    ['/incontactapi/services/v31.0/x//y', null],
    ['http://evil.test/x', 'bad_request'],
    ['//evil.test/x', 'bad_request'],
    ['/a/../b', 'bad_request'],
    ['/a/%2e%2E/b', 'bad_request'],
    ['/a%2fb', 'bad_request'],
    ['/a\\b', 'bad_request'],
    ['/a?q=%zz', 'bad_request'],
    ['/a?q=1#frag', 'bad_request'],
    ['/a#frag', 'bad_request'],
    // Escapes that are not UTF-8 (issue 26: refused here, as @fastify/http-proxy's own check refused them before).
    ['/a/%FF/b', 'bad_request'],
    ['/a/%C0%AF', 'bad_request'],
    ['/a/%C3%A9?q=%FF', null],
    ['/a/./b', 'bad_request'],
    ['/a/.well-known/b', null],
    ['/a/..b/c', null],
    ['/.', 'bad_request'],
    ['/a/%2e', 'bad_request']
  ])('%s → %s', (url, code) => {
    expect(codeOf(() => { checkTarget(url) })).toBe(code)
  })
})

describe('step 2: header lines', () => {
  it.each([
    ['one Host', head(), null],
    ['two Host lines', head({ extraRaw: ['Host', 'evil.test'] }), 'bad_request'],
    ['no Host (refused by the Host step)', head({ rawHeaders: ['accept', '*/*'] }), null],
    ['100 lines', head({ extraRaw: Array.from({ length: 99 }, (_v, i) => [`x-h${i}`, 'v']).flat() }), null],
    ['101 lines', head({ extraRaw: Array.from({ length: 100 }, (_v, i) => [`x-h${i}`, 'v']).flat() }), 'request_header_fields_too_large']
  ])('%s → %s', (_name, h, code) => {
    expect(codeOf(() => { checkHeaders(h, plain) })).toBe(code)
  })
})

describe('step 3: Host', () => {
  const named = rules({ PROXY_ALLOWED_HOSTS: 'proxy.internal' })
  it.each([
    ['127.0.0.1:8080', null],
    ['localhost', null],
    ['[::1]:8080', null],
    ['proxy.internal:8080', null],
    ['evil.test', 'forbidden_host'],
    ['127.0.0.1:0', 'forbidden_host'],
    ['127.0.0.1:99999', 'forbidden_host'],
    ['127.0.0.1:8080@evil.test', 'forbidden_host'],
    [undefined, 'forbidden_host']
  ])('%s → %s', (host, code) => {
    expect(codeOf(() => { checkHost(host, named) })).toBe(code)
  })
})

describe('step 4: Origin and CORS', () => {
  const cors = rules({ PROXY_CORS_ORIGINS: 'https://dash.example' })
  it.each([
    ['no Origin (a script)', {}, null],
    ['the proxy\'s own origin', { origin: 'http://127.0.0.1:8080' }, null],
    ['an allowed origin', { origin: 'https://dash.example' }, null],
    ['another origin', { origin: 'https://evil.example' }, 'cross_site_request'],
    ['a cross-site fetch without Origin', { 'sec-fetch-site': 'cross-site' }, 'cross_site_request']
  ])('%s → %s', (_name, headers, code) => {
    expect(codeOf(() => checkOrigin(head({ headers }), cors))).toBe(code)
  })
  it('gives an allowed origin its CORS headers, and answers its preflight without a key', () => {
    const keyed = rules({ PROXY_CORS_ORIGINS: 'https://dash.example' }, ['k1'])
    const verdict = admit(head({ method: 'OPTIONS', headers: { origin: 'https://dash.example', 'access-control-request-method': 'GET' } }), keyed)
    expect(verdict).toEqual({
      preflight: true,
      cors: {
        'access-control-allow-origin': 'https://dash.example',
        vary: 'Origin',
        'access-control-expose-headers': 'x-request-id, proxy-status, retry-after',
        'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
        'access-control-allow-headers': 'content-type, accept, x-proxy-key, x-request-id',
        'access-control-max-age': '600'
      }
    })
  })
})

describe('step 5: inbound key', () => {
  const keyed = rules({}, ['k1', 'k2'])
  it.each([
    ['/inContactAPI/x', 'k2', null],
    ['/inContactAPI/x', 'k3', 'proxy_auth_required'],
    ['/inContactAPI/x', undefined, 'proxy_auth_required'],
    ['/_proxy/metrics', undefined, 'proxy_auth_required'],
    ['/_proxy/healthz', undefined, null],
    ['/_proxy/readyz', undefined, null]
  ])('%s with key %s → %s', (path, key, code) => {
    expect(codeOf(() => { checkKey(path, key, keyed) })).toBe(code)
  })
  it('needs no key when none are configured', () => {
    expect(codeOf(() => { checkKey('/inContactAPI/x', undefined, plain) })).toBe(null)
  })
})

describe('step 6: route rules', () => {
  const readOnly = rules({ PROXY_READ_ONLY: 'true' })
  const routed: AdmissionRules = { ...plain, routes: [compileRoute({ method: 'GET', pattern: '/inContactAPI/services/*/skills/**' })] }
  it.each([
    ['GET under read-only', readOnly, 'GET', '/inContactAPI/services/v31.0/agents', {}, null],
    ['POST under read-only', readOnly, 'POST', '/inContactAPI/services/v31.0/agents', {}, 'forbidden_route'],
    ['X-HTTP-Method-Override under read-only', readOnly, 'GET', '/inContactAPI/services/v31.0/agents', { 'x-http-method-override': 'DELETE' }, 'forbidden_route'],
    ['X-Original-URL under routes', routed, 'GET', '/inContactAPI/services/v31.0/skills/activity', { 'x-original-url': '/admin' }, 'forbidden_route'],
    ['override headers without any rule', plain, 'GET', '/x', { 'x-http-method': 'DELETE' }, null],
    ['an allowed path', routed, 'GET', '/inContactAPI/services/v31.0/skills/activity', {}, null],
    ['another family', routed, 'GET', '/inContactAPI/services/v31.0/agents/states', {}, 'forbidden_route'],
    ['another method', routed, 'POST', '/inContactAPI/services/v31.0/skills/activity', {}, 'forbidden_route'],
    ['%252e%252e climbing out', routed, 'GET', '/inContactAPI/services/v31.0/skills/%252e%252e/agents', {}, 'forbidden_route'],
    ['full-width dots climbing out', routed, 'GET', '/inContactAPI/services/v31.0/skills/%EF%BC%8E%EF%BC%8E/agents', {}, 'forbidden_route'],
    ['a ;parameter dot segment', routed, 'GET', '/inContactAPI/services/v31.0/skills/..;x/agents', {}, 'forbidden_route'],
    ['a ;parameter hiding the family', routed, 'GET', '/inContactAPI/services/v31.0/agents;/skills/x', {}, 'forbidden_route'],
    ['an empty segment shifting the family', routed, 'GET', '/inContactAPI/services//v31.0/skills/x', {}, null],
    ['an empty segment faking the family', routed, 'GET', '/inContactAPI/services/v31.0//skills', {}, null]
  ])('%s → %s', (_name, r, method, path, headers, code) => {
    expect(codeOf(() => { checkRoute(head({ method, url: path, headers }), path, r) })).toBe(code)
  })
  it('matches on the path a lenient server would act on', () => {
    expect(serverView('/a//b;x/%2563')).toBe('/a/b/c')
    expect(serverView('/a/%252e%252e/b')).toBe(undefined)
    expect(serverView('/a/%EF%BC%8E/b')).toBe(undefined)
  })
})

describe('step 7: declared body size', () => {
  const small = rules({ PROXY_MAX_BODY_BYTES: '10', PROXY_MAX_BUFFERED_BYTES: '100' })
  it.each([[undefined, null], ['10', null], ['11', 'payload_too_large']])('Content-Length %s → %s', (length, code) => {
    expect(codeOf(() => { checkBodyLimit(length, small) })).toBe(code)
  })
})

describe('the order of the steps', () => {
  it('refuses with the first failing step: a bad target before a bad Host before a missing key', () => {
    const keyed = rules({}, ['k1'])
    expect(codeOf(() => admit(head({ url: '/a/../b', headers: { host: 'evil.test' } }), keyed))).toBe('bad_request')
    expect(codeOf(() => admit(head({ headers: { host: 'evil.test' } }), keyed))).toBe('forbidden_host')
    expect(codeOf(() => admit(head({ method: 'POST' }), { ...keyed, readOnly: true }))).toBe('proxy_auth_required')
    expect(codeOf(() => admit(head({ method: 'POST', headers: { 'x-proxy-key': 'k1' } }), { ...keyed, readOnly: true }))).toBe('forbidden_route')
  })
})

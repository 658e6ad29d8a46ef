import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { makeCerts } from './helpers/certs.js'
import { API, startStack, type Stack, type StackOptions } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'
import { closedPort } from './helpers/run-process.js'

interface Expected { status: number, code: string, proxyStatus: string, retryAfter?: boolean }

describe('errors the proxy makes', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c()
  })

  async function stackWith (opts: StackOptions): Promise<Stack> {
    const stack = await startStack({ waitForToken: false, ...opts })
    cleanups.push(stack.close)
    return stack
  }

  async function expectError (stack: Stack, e: Expected): Promise<Record<string, unknown>> {
    const r = await fetch(`${stack.url}${API}/skills/activity`)
    const body = await r.json() as { error: { code: string, message: string } }
    expect({ status: r.status, code: body.error.code }).toEqual({ status: e.status, code: e.code })
    expect(r.headers.get('proxy-status')).toBe(`cxone-auth-proxy; error=${e.proxyStatus}; details="${e.code}"`)
    expect(r.headers.get('content-type')).toMatch(/^application\/json/)
    if (e.retryAfter === true) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(body.error.message.length).toBeGreaterThan(20)
    return body.error as unknown as Record<string, unknown>
  }

  it('token_rejected: the token endpoint refused the credentials', async () => {
    const stack = await stackWith({ env: { CXONE_CLIENT_SECRET: 'wrong' } })
    const error = await expectError(stack, { status: 502, code: 'token_rejected', proxyStatus: 'proxy_configuration_error' })
    expect(error.message).toContain('invalid_client')
    expect(error.message).not.toContain(DEMO_CREDENTIALS.clientSecret)
  })

  it('token_invalid_response: an HTML page instead of a token', async () => {
    const stack = await stackWith({})
    stack.sim.tokenFault = { kind: 'html' }
    await expectError(stack, { status: 502, code: 'token_invalid_response', proxyStatus: 'http_protocol_error' })
  })

  it('token_unavailable: the token endpoint failing, with Retry-After', async () => {
    const stack = await stackWith({})
    stack.sim.tokenFault = { kind: 'status', status: 503 }
    await expectError(stack, { status: 503, code: 'token_unavailable', proxyStatus: 'destination_unavailable', retryAfter: true })
  })

  it('token_unavailable: the token endpoint unreachable', async () => {
    const stack = await stackWith({ env: { CXONE_TOKEN_URL: `http://127.0.0.1:${await closedPort()}/auth/token` } })
    await expectError(stack, { status: 503, code: 'token_unavailable', proxyStatus: 'destination_unavailable', retryAfter: true })
  })

  it('destination_unavailable: the API refuses connections; one log line, no stack', async () => {
    const stack = await stackWith({ env: { CXONE_API_URL: `http://127.0.0.1:${await closedPort()}` } })
    await expectError(stack, { status: 502, code: 'destination_unavailable', proxyStatus: 'connection_refused' })
    await new Promise((resolve) => setTimeout(resolve, 20))
    const warnings = stack.logs.entries.filter((e) => e.level === 40)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ code: 'destination_unavailable', cause: 'ECONNREFUSED' })
    expect(stack.logs.text()).not.toContain('"stack"')
  })

  it('tls_certificate_error: the API presents an untrusted certificate', async () => {
    const certs = makeCerts()
    const server: HttpsServer = createHttpsServer({ key: certs.selfKey, cert: certs.selfCert }, (_req, res) => { res.end('{}') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => { resolve() })) })
    const stack = await stackWith({ env: { CXONE_API_URL: `https://127.0.0.1:${(server.address() as AddressInfo).port}` } })
    const error = await expectError(stack, { status: 502, code: 'tls_certificate_error', proxyStatus: 'tls_certificate_error' })
    expect(error.message).toContain('NODE_EXTRA_CA_CERTS')
  })

  it('upstream_not_configured: cxone-configuration names a plain-http API host off loopback', async () => {
    const stack = await stackWith({ sim: { apiEndpoint: 'http://api.example.com' } })
    const error = await expectError(stack, { status: 502, code: 'upstream_not_configured', proxyStatus: 'proxy_configuration_error' })
    expect(error.message).toContain('api_endpoint=http://api.example.com')
    expect(error.message).toContain('CXONE_API_URL')
  })

  it('connection_timeout: the API does not answer in time', async () => {
    const upstream: Upstream = await startUpstream(() => { /* never answers */ })
    cleanups.push(upstream.close)
    const stack = await stackWith({ env: { CXONE_API_URL: upstream.url, PROXY_UPSTREAM_TIMEOUT_MS: '300' } })
    await expectError(stack, { status: 504, code: 'connection_timeout', proxyStatus: 'connection_timeout' })
  })

  it('not_found for an unknown /_proxy/ endpoint, never forwarded', async () => {
    const stack = await stackWith({})
    const r = await fetch(`${stack.url}/_proxy/nope`)
    expect(r.status).toBe(404)
    expect(await r.json()).toMatchObject({ error: { code: 'not_found' } })
    expect(stack.sim.apiRequests).toHaveLength(0)
  })
})

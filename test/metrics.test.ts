import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { sample } from './helpers/metrics.js'
import { rawRequest } from './helpers/raw-http.js'


describe('Prometheus metrics', () => {
  let stack: Stack
  let text = ''
  beforeAll(async () => {
    stack = await startStack()
    await fetch(`${stack.url}${API}/skills/activity`)
    await fetch(`${stack.url}${API}/agents/states`)
    await rawRequest(stack.url, `GET ${API}/../x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    stack.sim.revokeAll()
    await fetch(`${stack.url}${API}/skills/activity`)
    text = await (await fetch(`${stack.url}/_proxy/metrics`)).text()
  })
  afterAll(async () => { await stack.close() })

  it('counts requests by method, route class and status, never by raw path', () => {
    expect(sample(text, 'cxone_proxy_requests_total', { method: 'GET', route_class: 'api:skills', status: '200' })).toBe(2)
    expect(sample(text, 'cxone_proxy_requests_total', { route_class: 'api:agents', status: '200' })).toBe(1)
    expect(sample(text, 'cxone_proxy_requests_total', { status: '400' })).toBe(1)
    expect(text).not.toContain('/inContactAPI')
  })

  it('reports the token: requests by outcome, seconds to expiry, age', () => {
    expect(sample(text, 'cxone_proxy_token_requests_total', { outcome: 'success' })).toBe(2)
    expect(sample(text, 'cxone_proxy_token_expires_in_seconds')).toBeGreaterThan(3500)
    expect(sample(text, 'cxone_proxy_token_age_seconds')).toBeLessThan(60)
    expect(sample(text, 'cxone_proxy_token_valid')).toBe(1)
  })

  it('counts upstream 401s, replays, refusals and upstream latency', () => {
    expect(sample(text, 'cxone_proxy_upstream_401_total')).toBe(1)
    expect(sample(text, 'cxone_proxy_replays_total')).toBe(1)
    expect(sample(text, 'cxone_proxy_rejected_total', { reason: 'bad_request' })).toBe(1)
    expect(sample(text, 'cxone_proxy_upstream_duration_seconds_count', { route_class: 'api:skills' })).toBe(2)
  })

  it('counts rejected token requests by OAuth error', async () => {
    const bad = await startStack({ env: { CXONE_CLIENT_SECRET: 'wrong' }, waitForToken: false })
    try {
      await bad.running.proxy.provider.getToken().catch(() => undefined)
      const t = await (await fetch(`${bad.url}/_proxy/metrics`)).text()
      expect(sample(t, 'cxone_proxy_token_requests_total', { outcome: 'rejected', oauth_error: 'invalid_client' })).toBe(1)
      expect(sample(t, 'cxone_proxy_token_valid')).toBe(0)
    } finally {
      await bad.close()
    }
  })

  it('no secret or token in any label or value', () => {
    for (const token of stack.sim.issuedTokens()) expect(text).not.toContain(token)
  })
})

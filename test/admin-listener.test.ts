import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('the admin listener', () => {
  let stack: Stack
  let admin: string
  beforeAll(async () => {
    stack = await startStack({ env: { PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1', PROXY_API_KEYS: 'inbound-key' } })
    admin = stack.running.adminUrl ?? ''
  })
  afterAll(async () => { await stack.close() })

  it('listens on its own port', () => {
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(admin).not.toBe(stack.url)
  })

  it('serves healthz, readyz and metrics without a key', async () => {
    expect((await fetch(`${admin}/_proxy/healthz`)).status).toBe(200)
    expect((await fetch(`${admin}/_proxy/readyz`)).status).toBe(200)
    const metrics = await fetch(`${admin}/_proxy/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('cxone_proxy_token_expires_in_seconds')
  })

  it('never forwards, and attaches no token', async () => {
    const before = stack.sim.apiRequests.length
    const r = await fetch(`${admin}${API}/skills/activity`)
    expect(r.status).toBe(404)
    expect(await r.json()).toMatchObject({ error: { code: 'not_found' } })
    expect(stack.sim.apiRequests.length).toBe(before)
  })

  it('the proxy port still wants the key for metrics, not for health', async () => {
    expect((await fetch(`${stack.url}/_proxy/metrics`)).status).toBe(401)
    expect((await fetch(`${stack.url}/_proxy/metrics`, { headers: { 'x-proxy-key': 'inbound-key' } })).status).toBe(200)
    expect((await fetch(`${stack.url}/_proxy/healthz`)).status).toBe(200)
    expect((await fetch(`${stack.url}/_proxy/readyz`)).status).toBe(200)
  })
})

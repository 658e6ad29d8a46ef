import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('attack: a web page making the user\'s browser call the proxy', () => {
  let stack: Stack
  const dashboard = 'https://dashboard.example.com'
  beforeAll(async () => { stack = await startStack({ env: { PROXY_CORS_ORIGINS: dashboard } }) })
  afterAll(async () => { await stack.close() })

  it('refuses a cross-site Origin with 403 cross_site_request and forwards nothing', async () => {
    const before = stack.sim.apiRequests.length
    const r = await fetch(`${stack.url}${API}/agents/states`, { headers: { origin: 'https://evil.example' } })
    expect(r.status).toBe(403)
    expect(await r.json()).toMatchObject({ error: { code: 'cross_site_request' } })
    expect(r.headers.get('access-control-allow-origin')).toBeNull()
    expect(stack.sim.apiRequests.length).toBe(before)
  })

  it('refuses a request the browser marks Sec-Fetch-Site: cross-site (no Origin, e.g. an <img>)', async () => {
    const r = await fetch(`${stack.url}${API}/agents/states`, { headers: { 'sec-fetch-site': 'cross-site' } })
    expect(r.status).toBe(403)
    expect(await r.json()).toMatchObject({ error: { code: 'cross_site_request' } })
  })

  it.each(['same-site', 'cross-site', 'unknown-value'])('refuses Sec-Fetch-Site: %s without an allowed Origin (a page on another loopback port is same-site)', async (site) => {
    const before = stack.sim.apiRequests.length
    const r = await fetch(`${stack.url}${API}/agents/states`, { headers: { 'sec-fetch-site': site } })
    expect(r.status).toBe(403)
    expect(await r.json()).toEqual({ error: { code: 'cross_site_request', message: `a browser request from another page (Sec-Fetch-Site: ${site}) may not call the proxy: a page whose origin is in PROXY_CORS_ORIGINS calls it with fetch in cors mode` } })
    expect(stack.sim.apiRequests.length).toBe(before)
  })

  it.each(['same-origin', 'none'])('serves Sec-Fetch-Site: %s (the proxy\'s own page, an address the user typed)', async (site) => {
    expect((await fetch(`${stack.url}${API}/agents/states`, { headers: { 'sec-fetch-site': site } })).status).toBe(200)
  })

  it('refuses the preflight of a foreign origin', async () => {
    const r = await fetch(`${stack.url}${API}/agents/states`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
    expect(r.status).toBe(403)
  })

  it('answers an allowed origin\'s preflight itself, never forwarding it', async () => {
    const before = stack.sim.apiRequests.length
    const r = await fetch(`${stack.url}${API}/agents/states`, { method: 'OPTIONS', headers: { origin: dashboard, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-request-id' } })
    expect(r.status).toBe(204)
    expect(r.headers.get('access-control-allow-origin')).toBe(dashboard)
    expect(r.headers.get('access-control-allow-methods')).toContain('GET')
    expect(stack.sim.apiRequests.length).toBe(before)
  })

  it('serves an allowed origin with CORS headers', async () => {
    const r = await fetch(`${stack.url}${API}/agents/states`, { headers: { origin: dashboard, 'sec-fetch-site': 'cross-site' } })
    expect(r.status).toBe(200)
    expect(r.headers.get('access-control-allow-origin')).toBe(dashboard)
    expect(r.headers.get('vary')).toContain('Origin')
  })

  it('an allowed origin can read the proxy\'s own errors (CORS headers kept)', async () => {
    const refused = await fetch(`${stack.url}/_proxy/nope`, { headers: { origin: dashboard } })
    expect(refused.status).toBe(404)
    expect(refused.headers.get('access-control-allow-origin')).toBe(dashboard)
    expect(refused.headers.get('access-control-expose-headers')).toContain('proxy-status')
  })

  it('a response that needed a 401 replay keeps its CORS headers', async () => {
    stack.sim.revokeAll()
    const r = await fetch(`${stack.url}${API}/agents/states`, { headers: { origin: dashboard } })
    expect(r.status).toBe(200)
    expect(r.headers.get('access-control-allow-origin')).toBe(dashboard)
  })
})

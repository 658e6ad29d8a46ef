import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('attack: calling a key-protected proxy without the key', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startStack({ env: { PROXY_API_KEYS: 'first-key-3f9a,second-key-81c2' } }) })
  afterAll(async () => { await stack.close() })

  it.each([[undefined], ['wrong-key'], ['first-key-3f9'], ['first-key-3f9a,second-key-81c2']])('key %s gets 401 proxy_auth_required and nothing is forwarded', async (key) => {
    const before = stack.sim.apiRequests.length
    const r = await fetch(`${stack.url}${API}/skills/activity`, { headers: key === undefined ? {} : { 'x-proxy-key': key } })
    expect(r.status).toBe(401)
    expect(await r.json()).toMatchObject({ error: { code: 'proxy_auth_required' } })
    expect(stack.sim.apiRequests.length).toBe(before)
  })

  it.each(['first-key-3f9a', 'second-key-81c2'])('key %s is served and never forwarded upstream', async (key) => {
    const r = await fetch(`${stack.url}${API}/skills/activity`, { headers: { 'x-proxy-key': key } })
    expect(r.status).toBe(200)
    expect(stack.sim.apiRequests.at(-1)?.headers['x-proxy-key']).toBeUndefined()
  })

  it('health and readiness need no key; metrics do', async () => {
    expect((await fetch(`${stack.url}/_proxy/healthz`)).status).toBe(200)
    expect((await fetch(`${stack.url}/_proxy/readyz`)).status).toBe(200)
    expect((await fetch(`${stack.url}/_proxy/metrics`)).status).toBe(401)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_CREDENTIALS } from '../src/simulator/simulator.js'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('secrets and tokens never reach the logs', () => {
  let stack: Stack
  const proxyKey = 'inbound-key-5b1f0e9c7d'
  const callerBearer = 'caller-own-bearer-0c2d9a'

  beforeAll(async () => {
    stack = await startStack({ env: { LOG_LEVEL: 'trace', PROXY_API_KEYS: proxyKey } })
  })
  afterAll(async () => { await stack.close() })

  it('a trace-level run through token fetch, forwarding, 401 replay and errors logs no secret', async () => {
    const headers = { 'x-proxy-key': proxyKey, authorization: `Bearer ${callerBearer}`, cookie: 'session=cookie-secret-77' }
    expect((await fetch(`${stack.url}${API}/skills/activity`, { headers })).status).toBe(200)
    stack.sim.revokeAll()
    expect((await fetch(`${stack.url}${API}/agents/states`, { headers })).status).toBe(200)
    expect((await fetch(`${stack.url}${API}/skills/activity`, { headers: { 'x-proxy-key': 'wrong-key-123' } })).status).toBe(401)
    stack.sim.tokenFault = { kind: 'status', status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'Bad client credentials' }) }
    stack.sim.revokeAll()
    stack.running.proxy.provider.invalidate(stack.running.proxy.provider.current()?.accessToken ?? '')
    expect((await fetch(`${stack.url}${API}/skills/activity`, { headers })).status).toBe(502)
    await new Promise((resolve) => setTimeout(resolve, 50))

    const text = stack.logs.text()
    expect(stack.logs.lines.length).toBeGreaterThan(5)
    const secrets = [
      DEMO_CREDENTIALS.clientSecret, DEMO_CREDENTIALS.accessKeySecret, DEMO_CREDENTIALS.accessKeyId,
      proxyKey, 'wrong-key-123', callerBearer, 'cookie-secret-77',
      Buffer.from(`${DEMO_CREDENTIALS.clientId}:${DEMO_CREDENTIALS.clientSecret}`).toString('base64'),
      ...stack.sim.issuedTokens()
    ]
    expect(stack.sim.issuedTokens().length).toBeGreaterThanOrEqual(2)
    for (const secret of secrets) expect(text).not.toContain(secret)
    // Tokens appear as fingerprints only.
    expect(text).toMatch(/"token":"[0-9a-f]{12}"/)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'
import { REFRESH_ON_401_BURST } from '../src/proxy/send.js'

// Issue 17 #4: 401s on many distinct paths (a missing permission, paths carrying ids) must not cost a token each,
// and a real revocation is still noticed at its first 401.

let stack: (Stack & { api: Upstream }) | undefined
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

describe('attack: permission 401s on distinct paths', () => {
  it('300 GETs to 300 paths that always answer 401 cost a bounded number of token requests', async () => {
    stack = await startApiStack((req, res) => {
      if ((req.url ?? '').includes('/forbidden/')) {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end('{"error":"insufficient_permissions"}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    const before = stack.sim.tokenRequests
    for (let batch = 0; batch < 10; batch++) {
      const statuses = await Promise.all(Array.from({ length: 30 }, async (_v, i) => (await fetch(`${stack?.url ?? ''}${API}/agents/${batch * 30 + i}/forbidden/x`)).status))
      expect(statuses).toEqual(Array(30).fill(401))
    }
    expect(stack.sim.tokenRequests - before).toBeLessThanOrEqual(REFRESH_ON_401_BURST)
    // Each replay costs one more API call at most: never two per path.
    expect(stack.api.seen.length).toBeLessThanOrEqual(300 + REFRESH_ON_401_BURST * 30)
    // Calls that work still work, on the token the proxy kept.
    expect((await fetch(`${stack.url}${API}/skills/activity`)).status).toBe(200)
  })

  it('a revoked token is still noticed at the first 401: one new token, one replay', async () => {
    stack = await startApiStack((req, res) => {
      if (req.headers.authorization === revoked) {
        res.writeHead(401)
        res.end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    let revoked = `Bearer ${stack.running.proxy.provider.current()?.accessToken ?? ''}`
    const before = stack.sim.tokenRequests
    expect((await fetch(`${stack.url}${API}/skills/activity`)).status).toBe(200)
    expect(stack.sim.tokenRequests - before).toBe(1)
    expect(stack.api.seen).toHaveLength(2)
    revoked = ''
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('forwarding a plain call', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startStack() })
  afterAll(async () => { await stack.close() })

  it('answers a credential-less GET with the upstream JSON, bearer attached upstream', async () => {
    const res = await fetch(`${stack.url}${API}/server-time`)
    expect(res.status).toBe(200)
    const body = await res.json() as { ServerTime: string }
    expect(Number.isNaN(Date.parse(body.ServerTime))).toBe(false)
    const seen = stack.sim.apiRequests.at(-1)
    expect(seen?.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
    expect(seen?.headers.host).toBe(new URL(stack.sim.origin).host)
  })
})

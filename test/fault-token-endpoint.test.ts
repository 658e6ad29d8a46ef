import { afterEach, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import type { TokenFault } from '../src/simulator/simulator.js'

describe('fault: the token endpoint misbehaves', () => {
  let stack: Stack | undefined
  afterEach(async () => { await stack?.close(); stack = undefined })

  async function firstCall (fault: TokenFault, env: Record<string, string> = {}): Promise<{ status: number, code: string, retryAfter: string | null, ms: number }> {
    stack = await startStack({ waitForToken: false, env })
    stack.sim.tokenFault = fault
    const started = Date.now()
    const r = await fetch(`${stack.url}${API}/skills/activity`)
    const body = await r.json() as { error: { code: string } }
    return { status: r.status, code: body.error.code, retryAfter: r.headers.get('retry-after'), ms: Date.now() - started }
  }

  it.each([
    [{ kind: 'html' }, 502, 'token_invalid_response'],
    [{ kind: 'empty' }, 502, 'token_invalid_response'],
    [{ kind: 'no_token' }, 502, 'token_invalid_response'],
    [{ kind: 'status', status: 500 }, 503, 'token_unavailable'],
    [{ kind: 'status', status: 429, retryAfter: '30' }, 503, 'token_unavailable']
  ] as Array<[TokenFault, number, string]>)('%o gives the caller %i %s, never a hang or a 200', async (fault, status, code) => {
    const r = await firstCall(fault)
    expect({ status: r.status, code: r.code }).toEqual({ status, code })
    expect(stack?.sim.apiRequests).toHaveLength(0)
  })

  it('a hanging endpoint is cut by CXONE_TOKEN_TIMEOUT_MS', async () => {
    const r = await firstCall({ kind: 'hang' }, { CXONE_TOKEN_TIMEOUT_MS: '500' })
    expect(r.status).toBe(503)
    expect(r.code).toBe('token_unavailable')
    expect(r.ms).toBeLessThan(3_000)
  })

  it('after a 429 with Retry-After, callers get that wait and no token request is made before it passes', async () => {
    const r = await firstCall({ kind: 'status', status: 429, retryAfter: '30' })
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(29)
    const s = stack as Stack
    for (let i = 0; i < 20; i++) await fetch(`${s.url}${API}/skills/activity`)
    await fetch(`${s.url}/_proxy/readyz`)
    expect(s.sim.tokenRequests).toBe(1)
  })

  it('recovers by itself when the endpoint does, logging one clear line per kind of failure', async () => {
    await firstCall({ kind: 'status', status: 503 })
    const s = stack as Stack
    s.sim.tokenFault = undefined
    const deadline = Date.now() + 6_000
    let status = 0
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      status = (await fetch(`${s.url}${API}/skills/activity`)).status
    }
    expect(status).toBe(200)
    const errors = s.logs.entries.filter((e) => e.level === 50)
    expect(errors).toHaveLength(1)
    expect(errors[0]?.msg).toContain('503')
  })
})

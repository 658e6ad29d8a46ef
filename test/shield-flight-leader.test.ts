import type { ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
interface Plan { status: number, retryAfter?: string, holdMs?: number, answeredAt?: number }

describe('issue 13: a coalesced read whose leader leaves while it waits behind a shield probe', () => {
  let stack: Stack & { api: Upstream }
  const plans: Plan[] = []
  const arrivals: Array<{ url: string, at: number }> = []
  beforeAll(async () => {
    stack = await startApiStack((req, res) => {
      arrivals.push({ url: req.url ?? '', at: performance.now() })
      const plan = plans.shift() ?? { status: 200 }
      const send = (r: ServerResponse): void => {
        plan.answeredAt = performance.now()
        r.writeHead(plan.status, { 'content-type': 'application/json', ...(plan.retryAfter === undefined ? {} : { 'retry-after': plan.retryAfter }) })
        r.end(JSON.stringify({ status: plan.status }))
      }
      if (plan.holdMs === undefined) send(res)
      else setTimeout(() => { if (!res.destroyed) send(res) }, plan.holdMs)
    }, { PROXY_PACE_MAX_WAIT_MS: '5000' })
  })
  afterAll(async () => { await stack.close() })

  it('still waits for the probe: its followers go upstream only after the probe is answered', async () => {
    plans.push({ status: 429, retryAfter: '1' })
    expect((await fetch(`${stack.url}${API}/skills/activity`)).status).toBe(429)
    await sleep(1_050)
    const probePlan: Plan = { status: 200, holdMs: 600 }
    plans.push(probePlan)
    const probe = fetch(`${stack.url}${API}/skills/activity?probe=1`)
    await sleep(50)
    const ac = new AbortController()
    const leader = fetch(`${stack.url}${API}/skills/activity`, { signal: ac.signal }).catch(() => 'aborted')
    await sleep(50)
    const follower = fetch(`${stack.url}${API}/skills/activity`)
    await sleep(50)
    ac.abort()
    await leader
    const [p, f] = await Promise.all([probe, follower])
    expect([p.status, f.status]).toEqual([200, 200])
    const second = arrivals[2]!
    expect(second.at).toBeGreaterThanOrEqual(probePlan.answeredAt!)
  })
})

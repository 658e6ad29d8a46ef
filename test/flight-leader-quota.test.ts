import { mkdtempSync, writeFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

// Issue 13: a flight's leader holds its shield and pace places for the whole flight, whose call goes on for the
// followers after its own caller has gone.

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * A coalesced read whose leader's caller leaves: the leader asks for `url`, a follower joins its flight, then the
 * leader's caller hangs up. Resolves to the follower's answer.
 */
async function leaderLeavesAfterFollowerJoins (url: string): Promise<Response> {
  const ac = new AbortController()
  const leader = fetch(url, { signal: ac.signal }).catch(() => 'aborted')
  await sleep(50)
  const follower = fetch(url)
  await sleep(50)
  ac.abort()
  await leader
  return await follower
}

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
    const [f, p] = await Promise.all([leaderLeavesAfterFollowerJoins(`${stack.url}${API}/skills/activity`), probe])
    expect([p.status, f.status]).toEqual([200, 200])
    const second = arrivals[2]!
    expect(second.at).toBeGreaterThanOrEqual(probePlan.answeredAt!)
  })
})

describe('issue 13: a coalesced read whose leader leaves while queued in a pace lane', () => {
  let stack: Stack & { api: Upstream }
  let inFlight = 0
  let maxInFlight = 0
  beforeAll(async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cxone-pace-')), 'proxy.config.json')
    writeFileSync(path, JSON.stringify({ pace: [{ route: 'GET /inContactAPI/services/*/skills/**', maxConcurrent: 1, minIntervalMs: 0 }] }))
    stack = await startApiStack((_req, res) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      setTimeout(() => { inFlight--; res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}') }, 400)
    }, { PROXY_CONFIG: path })
  })
  afterAll(async () => { await stack.close() })

  it('keeps the lane to maxConcurrent 1 for its followers', async () => {
    const first = fetch(`${stack.url}${API}/skills/a?first=1`)
    await sleep(50)
    await Promise.all([first, leaderLeavesAfterFollowerJoins(`${stack.url}${API}/skills/activity`)])
    expect(maxInFlight).toBe(1)
  })
})

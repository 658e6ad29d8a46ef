import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

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
    const ac = new AbortController()
    const leader = fetch(`${stack.url}${API}/skills/activity`, { signal: ac.signal }).catch(() => 'aborted')
    await sleep(50)
    const follower = fetch(`${stack.url}${API}/skills/activity`)
    await sleep(50)
    ac.abort()
    await leader
    await Promise.all([first, follower])
    expect(maxInFlight).toBe(1)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

// Issue 17 #2: a request whose caller has gone is not sent; one in flight is cancelled upstream.

let stack: (Stack & { api: Upstream }) | undefined
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

describe('a caller who hangs up', () => {
  it('while the token is still being fetched: its POST is never sent to the API', async () => {
    stack = await startApiStack(undefined, {})
    stack.sim.tokenDelayMs = 800
    stack.running.proxy.provider.invalidate(stack.running.proxy.provider.current()?.accessToken ?? '')
    const calls = Array.from({ length: 5 }, async (_v, i) => await fetch(`${stack?.url ?? ''}${API}/contacts/${i}/notes`, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(200) }).catch(() => 'gone'))
    expect(await Promise.all(calls)).toEqual(Array(5).fill('gone'))
    // The token arrives after 800 ms; give the proxy time to (wrongly) send what it held.
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    expect(stack.api.seen).toHaveLength(0)
    expect((await fetch(`${stack.url}${API}/skills/activity`)).status).toBe(200)
  })

  it('while the API holds the answer: the upstream request is cancelled at once', async () => {
    let closedUpstream = 0
    stack = await startApiStack((req, res) => {
      req.socket.once('close', () => { closedUpstream++ })
      setTimeout(() => { if (!res.destroyed) { res.writeHead(200); res.end('{}') } }, 10_000)
    })
    const polls = Array.from({ length: 10 }, async (_v, i) => await fetch(`${stack?.url ?? ''}${API}/agent-sessions/${i}/get-next-event`, { signal: AbortSignal.timeout(300) }).catch(() => 'gone'))
    expect(await Promise.all(polls)).toEqual(Array(10).fill('gone'))
    const deadline = Date.now() + 2_000
    while (closedUpstream < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(closedUpstream).toBe(10)
  })

  it('while queued for a place upstream: it gives its place back, so no place leaks', async () => {
    stack = await startApiStack((req, res) => {
      const hold = (req.url ?? '').includes('/hold') ? 600 : 0
      setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}') }, hold)
    }, { PROXY_UPSTREAM_CONNECTIONS: '2', PROXY_QUEUE_TIMEOUT_MS: '3000' })
    const held = [1, 2].map(async (i) => await fetch(`${stack?.url ?? ''}${API}/hold/${i}`))
    await new Promise((resolve) => setTimeout(resolve, 100))
    const queued = Array.from({ length: 10 }, async (_v, i) => await fetch(`${stack?.url ?? ''}${API}/queued/${i}`, { signal: AbortSignal.timeout(200) }).catch(() => 'gone'))
    expect(await Promise.all(queued)).toEqual(Array(10).fill('gone'))
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200])
    // Both places are free again: two calls at once go straight through, none waits out the queue.
    const started = performance.now()
    const after = await Promise.all([1, 2].map(async (i) => (await fetch(`${stack?.url ?? ''}${API}/after/${i}`)).status))
    expect(after).toEqual([200, 200])
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(stack.api.seen.filter((s) => s.url.includes('/queued/'))).toHaveLength(0)
  })
})

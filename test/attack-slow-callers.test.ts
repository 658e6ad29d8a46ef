import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Handler, Upstream } from './helpers/upstream.js'
import { ManualClock } from './helpers/manual-clock.js'

// Issue 17 #1: slow uploaders and long-polls must not starve plain callers; a caller waiting for a place upstream
// gets an answer in bounded time; a cold-start burst is served, not refused.

type ApiStack = Stack & { api: Upstream }
let stack: ApiStack | undefined
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await stack?.close()
  stack = undefined
})

/** Long-polls are held for `holdMs`; everything else answers at once. */
function api (holdMs: number): Handler {
  return (req, res) => {
    const answer = (): void => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}') }
    if ((req.url ?? '').includes('/get-next-event')) setTimeout(answer, holdMs)
    else answer()
  }
}

/** Starts an upload that sends one byte every 200 ms and never finishes while the test runs. */
function trickle (url: string): void {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  sockets.push(socket)
  socket.on('error', () => {})
  socket.write(`POST ${API}/contacts/1/notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`)
  const timer = setInterval(() => { if (!socket.destroyed) socket.write('x') }, 200)
  socket.on('close', () => { clearInterval(timer) })
}

/** A call's status, code and duration; on `clock` when given, which `whileWaiting` moves once the call waits. */
async function timed (url: string, clock?: ManualClock, whileWaiting?: () => Promise<void>): Promise<{ status: number, ms: number, code?: string }> {
  const now = clock?.monotonic ?? (() => performance.now())
  const started = now()
  const call = fetch(url, { signal: AbortSignal.timeout(10_000) })
  await whileWaiting?.()
  const r = await call
  const text = await r.text()
  return { status: r.status, ms: now() - started, code: r.status === 200 ? undefined : (JSON.parse(text) as { error: { code: string } }).error.code }
}

describe('attack: slow callers beside plain ones', () => {
  it('64 trickling uploads and 64 long-polls do not delay plain calls (the default connection budget)', async () => {
    stack = await startApiStack(api(8_000))
    for (let i = 0; i < 64; i++) trickle(stack.url)
    const polls = Array.from({ length: 64 }, async (_v, i) => await fetch(`${stack?.url ?? ''}${API}/agent-sessions/${i}/get-next-event?timeout=60`).catch(() => undefined))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const plain = await Promise.all(Array.from({ length: 50 }, async () => await timed(`${stack?.url ?? ''}${API}/skills/activity`)))
    expect(plain.map((p) => p.status)).toEqual(Array(50).fill(200))
    // Alone on a quiet machine the slowest of the 50 takes well under a second; the bound leaves room for a
    // loaded CI machine and still fails the old pool, where they waited for the long-polls' 8 s.
    expect(Math.max(...plain.map((p) => p.ms))).toBeLessThan(3_000)
    // The uploads never reached the API: a body is forwarded only once it has all arrived.
    expect(stack.api.seen.filter((s) => s.method === 'POST')).toHaveLength(0)
    for (const s of sockets) s.destroy()
    void polls
  }, 30_000)

  it('with every place upstream held by long-polls, a plain call gets too_busy within the queue wait, not an endless wait', async () => {
    // The queue's wait runs on a clock the test moves: the call waits exactly as long as the clock is moved.
    const clock = new ManualClock(Date.now())
    stack = await startApiStack(api(8_000), { PROXY_UPSTREAM_CONNECTIONS: '4', PROXY_QUEUE_TIMEOUT_MS: '500' }, { clock })
    const polls = Array.from({ length: 4 }, async (_v, i) => await fetch(`${stack?.url ?? ''}${API}/agent-sessions/${i}/get-next-event`).catch(() => undefined))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const timers = clock.pendingTimers
    const r = await timed(`${stack.url}${API}/skills/activity`, clock, async () => {
      // Queued for a place once its wait's timer is set; then the clock moves past PROXY_QUEUE_TIMEOUT_MS.
      while (clock.pendingTimers === timers) await new Promise((resolve) => setTimeout(resolve, 5))
      await clock.advance(500)
    })
    expect(r).toMatchObject({ status: 503, code: 'too_busy' })
    expect(r.ms).toBeGreaterThanOrEqual(450)
    expect(r.ms).toBeLessThan(2_000)
    void polls
  }, 30_000)

  it('a cold-start burst of 300 plain calls is served in full', async () => {
    stack = await startApiStack(api(0), { PROXY_UPSTREAM_CONNECTIONS: '16' })
    const all = await Promise.all(Array.from({ length: 300 }, async () => (await fetch(`${stack?.url ?? ''}${API}/skills/activity`)).status))
    expect(all.filter((s) => s !== 200)).toEqual([])
  }, 30_000)

  it('an upload that stalls is cut with 408 after PROXY_BODY_TIMEOUT_MS, never sent upstream', async () => {
    stack = await startApiStack(api(0), { PROXY_BODY_TIMEOUT_MS: '300' })
    const { port } = new URL(stack.url)
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1')
      sockets.push(socket)
      let data = ''
      socket.on('data', (d: Buffer) => { data += d.toString() })
      socket.on('close', () => { resolve(data) })
      socket.write(`PUT ${API}/contacts/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc`)
    })
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(answer).toContain('"code":"request_timeout"')
    expect(stack.api.seen).toHaveLength(0)
  }, 30_000)
})

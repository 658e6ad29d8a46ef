import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Handler, Upstream } from './helpers/upstream.js'
import { ManualClock } from './helpers/manual-clock.js'

// Issue 24 #1: a caller who sends a request and then stops reading a large answer must not hold the places other
// callers need: the pace lane, the request-body budget, the upstream gate.

type ApiStack = Stack & { api: Upstream }
let stack: ApiStack | undefined
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await stack?.close()
  stack = undefined
})

const BIG = Buffer.alloc(32 * 1024 * 1024, 0x61)
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** `?big` answers 32 MiB (more than the loopback socket buffers hold), anything else a small JSON. */
const api: Handler = (req, res) => {
  if ((req.url ?? '').includes('big')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length })
    res.end(BIG)
  } else {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ok":true}')
  }
}

/** Sends a request on a raw socket, reads the first bytes of the answer, then stops reading for good. */
async function stopReading (url: string, head: string, body = ''): Promise<void> {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  sockets.push(socket)
  socket.on('error', () => {})
  socket.write(`${head}\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\n\r\n${body}`)
  await new Promise<void>((resolve) => { socket.once('data', () => { socket.pause(); resolve() }) })
}

describe('a caller who stops reading holds no shared place', () => {
  it('the default data-extraction pace lane is free once CXone has answered the job creation', async () => {
    const clock = new ManualClock(Date.now())
    stack = await startApiStack(api, {}, { clock })
    await stopReading(stack.url, 'POST /data-extraction/v1/jobs?big=1 HTTP/1.1', '{}')
    // The default rule: one at a time, 30 s apart.
    await clock.advance(30_001)
    const next = fetch(`${stack.url}/data-extraction/v1/jobs`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    for (let i = 0; i < 200 && stack.api.seen.length < 2; i++) await sleep(10)
    // Past PROXY_PACE_MAX_WAIT_MS (60 s): a request still queued behind the reader gets 503 too_busy.
    await clock.advance(60_001)
    const r = await next
    expect(r.status).toBe(200)
    expect(stack.api.seen).toHaveLength(2)
  })

  it('a request body is given back once CXone has answered, not when the caller has read the answer', async () => {
    stack = await startApiStack(api, { PROXY_MAX_BODY_BYTES: '1000', PROXY_MAX_BUFFERED_BYTES: '1000' })
    await stopReading(stack.url, `POST ${API}/contacts/1/notes?big=1 HTTP/1.1`, 'x'.repeat(900))
    const r = await fetch(`${stack.url}${API}/contacts/1/notes`, { method: 'POST', body: 'y'.repeat(900), headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(200)
  })

  // With coalescing on, the answer is too large to share: the flight ends, and its place becomes the reader's own.
  it.each(['false', 'true'])('the upstream gate place comes back after PROXY_UPSTREAM_TIMEOUT_MS without progress, however slowly the caller reads (coalesce %s)', async (coalesce) => {
    const clock = new ManualClock(Date.now())
    stack = await startApiStack(api, { PROXY_MAX_CONCURRENT_UPSTREAM: '1', PROXY_QUEUE_TIMEOUT_MS: '0', PROXY_UPSTREAM_TIMEOUT_MS: '5000', PROXY_COALESCE: coalesce }, { clock })
    await stopReading(stack.url, `GET ${API}/reports/big HTTP/1.1`)
    // A refusal comes when the gate's queue wait (0 ms, on the clock) is over: the clock moves 1 ms for it.
    const plain = async (): Promise<number> => {
      const answer = fetch(`${stack?.url ?? ''}${API}/skills/activity`)
      await sleep(50)
      await clock.advance(1)
      return (await answer).status
    }
    // The one place is the reader's: too_busy at once.
    expect(await plain()).toBe(503)
    // Less than the bound without progress: still held.
    await sleep(200)
    await clock.advance(4_000)
    expect(await plain()).toBe(503)
    let status = 0
    for (let i = 0; i < 20 && status !== 200; i++) {
      await clock.advance(5_000)
      status = await plain()
    }
    expect(status).toBe(200)
  })
})

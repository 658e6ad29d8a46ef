import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import { rawRequest } from './helpers/raw-http.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

describe('attack: steering a request (and its bearer) to another origin', () => {
  let api: Upstream
  let decoy: Upstream
  let stack: Stack
  beforeAll(async () => {
    decoy = await startUpstream()
    const s = await startApiStack()
    stack = s
    api = s.api
  })
  afterAll(async () => {
    await stack.close()
    await decoy.close()
  })

  const decoyHost = (): string => new URL(decoy.url).host

  it('an absolute-form target gets 400 and the decoy is never contacted', async () => {
    const r = await rawRequest(stack.url, `GET ${decoy.url}${API}/skills HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    expect(r.status).toBe(400)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'bad_request' } })
    expect(decoy.seen).toHaveLength(0)
  })

  it('CONNECT is never tunnelled', async () => {
    const r = await rawRequest(stack.url, `CONNECT ${decoyHost()} HTTP/1.1\r\nHost: ${decoyHost()}\r\n\r\n`)
    expect(r.status === 0 || r.status === 405 || r.status === 400).toBe(true)
    expect(r.raw).not.toContain('200 Connection')
    expect(decoy.seen).toHaveLength(0)
  })

  it('a //host target gets 400', async () => {
    const r = await rawRequest(stack.url, `GET //${decoyHost()}/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    expect(r.status).toBe(400)
    expect(decoy.seen).toHaveLength(0)
  })

  it('Forwarded and X-Forwarded-* headers never change the destination, and are not passed on', async () => {
    const before = api.seen.length
    const r = await rawRequest(stack.url, `GET ${API}/skills HTTP/1.1\r\nHost: 127.0.0.1\r\nForwarded: host=${decoyHost()};proto=http\r\nX-Forwarded-Host: ${decoyHost()}\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ${new URL(decoy.url).port}\r\n\r\n`)
    expect(r.status).toBe(200)
    expect(api.seen.length).toBe(before + 1)
    expect(api.seen.at(-1)?.headers.forwarded).toBeUndefined()
    expect(api.seen.at(-1)?.headers['x-forwarded-host']).toBeUndefined()
    expect(decoy.seen).toHaveLength(0)
  })

  it('TRACE is refused with 405 method_not_allowed', async () => {
    const r = await rawRequest(stack.url, `TRACE ${API}/skills HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
    expect(r.status).toBe(405)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'method_not_allowed' } })
  })
})

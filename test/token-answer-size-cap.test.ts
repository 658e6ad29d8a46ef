import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Discovery } from '../src/token/discovery.js'
import { AnswerTooLargeError, MAX_AUTH_ANSWER_BYTES, readTextCapped } from '../src/token/capped-body.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

const MIB = 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 'a')

/** A loopback server whose every answer is a JSON document padded to `bytes`, written as fast as the reader takes it. */
interface Bloated { url: string, written: () => number, closed: Promise<void>, close: () => Promise<void> }

async function startBloated (bytes: number, fields: Record<string, unknown>, declareLength = false): Promise<Bloated> {
  let written = 0
  let onClosed = (): void => {}
  const closed = new Promise<void>((resolve) => { onClosed = resolve })
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => { void pad(res) })
  })
  async function pad (res: ServerResponse): Promise<void> {
    const head = JSON.stringify(fields).slice(0, -1) + ',"pad":"'
    res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(bytes) } : {}) })
    res.on('close', onClosed)
    res.write(head)
    written = head.length
    while (written < bytes - 2 && !res.destroyed) {
      const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, bytes - 2 - written))
      written += chunk.length
      if (!res.write(chunk)) await drainedOrGone(res)
    }
    if (!res.destroyed) res.end('"}')
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    written: () => written,
    closed,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

async function drainedOrGone (res: ServerResponse): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}

const TOKEN = { access_token: 'a.b.c', token_type: 'Bearer', expires_in: 3600 }

describe('the token endpoint\'s and discovery\'s answers are capped at 64 KiB', () => {
  let bloated: Bloated | undefined
  let stack: Stack | undefined
  let api: Upstream | undefined
  afterEach(async () => {
    await stack?.close()
    await api?.close()
    await bloated?.close()
    stack = undefined
    api = undefined
    bloated = undefined
  })

  async function callThroughProxy (b: Bloated): Promise<{ status: number, body: unknown }> {
    api = await startUpstream()
    stack = await startStack({ waitForToken: false, env: { CXONE_TOKEN_URL: `${b.url}/auth/token`, CXONE_API_URL: api.url } })
    const r = await fetch(`${stack.url}${API}/skills/activity`)
    return { status: r.status, body: await r.json() }
  }

  it('a 32 MiB token answer (a valid token, padded) is abandoned after the cap: 502 token_invalid_response, the API sees nothing', async () => {
    bloated = await startBloated(32 * MIB, TOKEN)
    const r = await callThroughProxy(bloated)
    expect(r).toEqual({
      status: 502,
      body: { error: { code: 'token_invalid_response', message: `token endpoint ${bloated.url}/auth/token answered 200 with more than 64 KiB (a token answer is a few KB), so the answer was not read: check CXONE_ISSUER / CXONE_TOKEN_URL point at the token endpoint` } }
    })
    await bloated.closed
    // What the server managed to write is the cap plus what the sockets' buffers held, never the answer.
    expect(bloated.written()).toBeLessThan(16 * MIB)
    expect(api?.seen).toEqual([])
    expect(stack?.logs.text()).not.toContain('a.b.c')
  })

  it('an answer declaring a Content-Length over the cap is refused before its body is read', async () => {
    bloated = await startBloated(400 * MIB, TOKEN, true)
    const r = await callThroughProxy(bloated)
    expect(r.status).toBe(502)
    expect((r.body as { error: { code: string } }).error.code).toBe('token_invalid_response')
    await bloated.closed
    expect(bloated.written()).toBeLessThan(16 * MIB)
  })

  it('discovery documents are capped too: openid-configuration and cxone-configuration', async () => {
    bloated = await startBloated(32 * MIB, { token_endpoint: 'http://127.0.0.1:1/auth/token', api_endpoint: 'http://127.0.0.1:1' })
    const discovery = new Discovery({ issuer: bloated.url, tokenUrl: undefined, apiUrl: undefined, fetch: async (u, i) => await globalThis.fetch(u, i), timeoutMs: 5_000 })
    await expect(discovery.tokenEndpoint()).rejects.toMatchObject({
      code: 'token_invalid_response',
      message: `issuer discovery at ${bloated.url}/.well-known/openid-configuration answered with more than 64 KiB (a discovery document is a few KB), so the answer was not read; set CXONE_TOKEN_URL to skip discovery, or check CXONE_ISSUER`
    })
    await expect(discovery.apiOrigin('t1')).rejects.toMatchObject({
      code: 'discovery_failed',
      message: `API discovery at ${bloated.url}/.well-known/cxone-configuration?tenantId=t1 answered with more than 64 KiB (a discovery document is a few KB), so the answer was not read; set CXONE_API_URL (for example https://api-na1.niceincontact.com)`
    })
  })

  it('reads a stream only up to the cap, then cancels it; an answer of exactly the cap is read whole', async () => {
    let pulled = 0
    let cancelled = false
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => { pulled += 1000; controller.enqueue(new Uint8Array(1000)) },
      cancel: () => { cancelled = true }
    })
    await expect(readTextCapped(new Response(endless), MAX_AUTH_ANSWER_BYTES)).rejects.toBeInstanceOf(AnswerTooLargeError)
    expect(cancelled).toBe(true)
    expect(pulled).toBeLessThanOrEqual(MAX_AUTH_ANSWER_BYTES + 2 * 1000)
    const exact = 'x'.repeat(MAX_AUTH_ANSWER_BYTES)
    expect(await readTextCapped(new Response(exact), MAX_AUTH_ANSWER_BYTES)).toBe(exact)
    expect(await readTextCapped(new Response('\u00e9t\u00e9 \u20ac'), MAX_AUTH_ANSWER_BYTES)).toBe('\u00e9t\u00e9 \u20ac')
  })
})

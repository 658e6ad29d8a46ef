import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'

/**
 * An API that keeps a connection open after answering but drops it, unannounced, when the next request
 * arrives on it: the race a pooled keep-alive socket loses when the server's idle timeout fires.
 */
async function flakyKeepAliveServer (): Promise<{ url: string, connections: () => number, requests: () => number, close: () => Promise<void> }> {
  let connections = 0
  let requests = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    connections += 1
    sockets.add(socket)
    let answered = false
    socket.on('data', () => {
      if (answered) { socket.destroy(); return }
      answered = true
      requests += 1
      const body = '{"ok":true}'
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`)
    })
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

describe('a GET that meets a stale keep-alive socket', () => {
  let api: Awaited<ReturnType<typeof flakyKeepAliveServer>>
  let stack: Stack
  beforeAll(async () => {
    api = await flakyKeepAliveServer()
    stack = await startStack({ env: { CXONE_API_URL: api.url, PROXY_UPSTREAM_CONNECTIONS: '1' } })
  })
  afterAll(async () => {
    await stack.close()
    await api.close()
  })

  it('is sent once more on a fresh connection, and the caller never sees the failure', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${stack.url}${API}/skills/activity`)
      expect(r.status).toBe(200)
      expect(await r.json()).toEqual({ ok: true })
    }
    expect(api.requests()).toBe(3)
    expect(api.connections()).toBeGreaterThanOrEqual(3)
  })

  it('a POST is not retried: the caller gets the error', async () => {
    await fetch(`${stack.url}${API}/warm`)
    const r = await fetch(`${stack.url}${API}/notes`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(502)
    expect(await r.json()).toMatchObject({ error: { code: 'destination_unavailable' } })
  })
})

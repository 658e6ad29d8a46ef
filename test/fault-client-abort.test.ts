import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'

describe('fault: a client gives up mid-upload while the proxy is still fetching a token', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startApiStack() })
  afterAll(async () => { await stack.close() })

  it('the proxy survives and keeps serving', async () => {
    stack.sim.tokenDelayMs = 800
    const provider = stack.running.proxy.provider
    provider.invalidate(provider.current()?.accessToken ?? '')
    const { port } = new URL(stack.url)
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST ${API}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`)
        socket.write(`10000\r\n${'x'.repeat(0x10000)}\r\n`)
        setTimeout(() => { socket.destroy(); resolve() }, 200)
      })
      socket.on('error', () => undefined)
    })
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    stack.sim.tokenDelayMs = 0
    const r = await fetch(`${stack.url}${API}/after`)
    expect(r.status).toBe(200)
  })
})

import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('attack: slowloris (headers trickled in to hold a connection)', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startStack({ env: { PROXY_HEADERS_TIMEOUT_MS: '1000' } }) })
  afterAll(async () => { await stack.close() })

  it('a client that never finishes its headers gets 408 and the connection is closed', async () => {
    const { port } = new URL(stack.url)
    const started = Date.now()
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1')
      let data = ''
      let n = 0
      socket.write(`GET ${API}/server-time HTTP/1.1\r\nHost: 127.0.0.1\r\n`)
      const drip = setInterval(() => { if (!socket.destroyed) socket.write(`X-Drip-${n++}: 1\r\n`) }, 200)
      socket.on('data', (d: Buffer) => { data += d.toString() })
      socket.on('error', () => undefined)
      socket.on('close', () => { clearInterval(drip); resolve(data) })
      setTimeout(() => { socket.destroy() }, 8_000)
    })
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(5_000)
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
    expect(answer).toContain('"code":"request_timeout"')
  })
})

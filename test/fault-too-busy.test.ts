import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

describe('more requests in flight than PROXY_MAX_CONCURRENT_UPSTREAM', () => {
  let api: Upstream
  let stack: Stack
  beforeAll(async () => {
    api = await startUpstream((_req, res) => { setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}') }, 500) })
    stack = await startStack({ env: { CXONE_API_URL: api.url, PROXY_MAX_CONCURRENT_UPSTREAM: '2', PROXY_QUEUE_TIMEOUT_MS: '0' } })
  })
  afterAll(async () => {
    await stack.close()
    await api.close()
  })

  it('refuses the excess with 503 too_busy and Retry-After, and serves again once they finish', async () => {
    const slow = [fetch(`${stack.url}${API}/a`), fetch(`${stack.url}${API}/b`)]
    await new Promise((resolve) => setTimeout(resolve, 100))
    const third = await fetch(`${stack.url}${API}/c`)
    expect(third.status).toBe(503)
    expect(third.headers.get('retry-after')).toBe('1')
    expect(third.headers.get('proxy-status')).toBe('cxone-auth-proxy; error=connection_limit_reached; details="too_busy"')
    expect(await third.json()).toMatchObject({ error: { code: 'too_busy' } })
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200])
    expect((await fetch(`${stack.url}${API}/d`)).status).toBe(200)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { rawRequest } from './helpers/raw-http.js'

describe('attack: DNS rebinding (a foreign Host reaching the loopback proxy)', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startStack({ env: { PROXY_ALLOWED_HOSTS: 'cxone-proxy.internal', PROXY_PUBLIC_URL: 'http://dashboard-sidecar:8080' } }) })
  afterAll(async () => { await stack.close() })

  const get = async (host: string | null): Promise<{ status: number, body: string, headers: Record<string, string> }> =>
    await rawRequest(stack.url, `GET ${API}/server-time HTTP/1.1\r\n${host === null ? '' : `Host: ${host}\r\n`}\r\n`)

  it.each(['attacker.example.com', 'attacker.example.com:8080', '127.0.0.1.nip.io', 'evil.localhost.example'])('refuses Host %s with 403 forbidden_host, forwarding nothing', async (host) => {
    const before = stack.sim.apiRequests.length
    const r = await get(host)
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'forbidden_host' } })
    expect(r.headers['proxy-status']).toBe('cxone-auth-proxy; error=http_request_denied; details="forbidden_host"')
    expect(stack.sim.apiRequests.length).toBe(before)
  })

  it('refuses a request with no Host at all', async () => {
    const r = await rawRequest(stack.url, `GET ${API}/server-time HTTP/1.0\r\n\r\n`)
    expect(r.status).toBe(403)
  })

  it.each(['127.0.0.1', '127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'cxone-proxy.internal', 'dashboard-sidecar:8080'])('serves Host %s', async (host) => {
    expect((await get(host)).status).toBe(200)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers/harness.js'
import { rawRequest, type RawAnswer } from './helpers/raw-http.js'

const STATUS_PATHS = ['/_proxy/', '/_proxy', '/_proxy/status.json', '/_proxy/status.js', '/_proxy/status.css']
const PROBE_PATHS = ['/_proxy/healthz', '/_proxy/readyz', '/_proxy/metrics']

describe('attack: DNS rebinding against the admin listener (a foreign Host reading the status page)', () => {
  let stack: Stack
  let admin: string
  beforeAll(async () => {
    stack = await startStack({ env: { PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1', PROXY_ALLOWED_HOSTS: 'proxy-admin.internal' } })
    admin = stack.running.adminUrl ?? ''
  })
  afterAll(async () => { await stack.close() })

  const get = async (path: string, host: string): Promise<RawAnswer> => await rawRequest(admin, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`)

  it.each(STATUS_PATHS)('refuses %s with Host attacker.example: 403 forbidden_host, no token fingerprint', async (path) => {
    const r = await get(path, 'attacker.example')
    expect(r.status).toBe(403)
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'forbidden_host' } })
    expect(r.body).not.toContain(stack.running.proxy.provider.current()?.fingerprint ?? 'no token')
  })

  it.each(STATUS_PATHS)('serves %s to a loopback or listed Host', async (path) => {
    for (const host of [`127.0.0.1:${new URL(admin).port}`, 'localhost', 'proxy-admin.internal:9090']) {
      expect((await get(path, host)).status, host).toBeLessThan(400)
    }
  })

  it.each(PROBE_PATHS)('keeps answering %s to a probe or scrape that uses the pod\'s address as Host', async (path) => {
    for (const host of ['10.1.2.3:9090', 'attacker.example']) {
      expect((await get(path, host)).status, host).toBe(200)
    }
  })
})

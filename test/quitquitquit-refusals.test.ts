import { networkInterfaces } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers/harness.js'
import { settle } from './helpers/manual-clock.js'
import { rawRequest } from './helpers/raw-http.js'

const KEY = 'quit-key'
/** An address of this machine that is not loopback: a caller there is "another machine" to the proxy. */
const external = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address

async function quitWasRequested (stack: Stack): Promise<boolean> {
  let requested = false
  void stack.running.proxy.quitRequested.then(() => { requested = true })
  await settle()
  return requested
}

describe('POST /_proxy/quitquitquit refuses', () => {
  let stack: Stack
  let main: string
  beforeAll(async () => {
    // Bound to every address (which the proxy allows only with inbound keys), so another address can call it.
    stack = await startStack({ env: { PROXY_HOST: '0.0.0.0', PROXY_API_KEYS: KEY, PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1' } })
    main = `http://127.0.0.1:${new URL(stack.url).port}`
  })
  afterAll(async () => { await stack.close() })

  it('a caller without the inbound key (the access guard, as for every /_proxy/ path but healthz and readyz)', async () => {
    const r = await fetch(`${main}/_proxy/quitquitquit`, { method: 'POST' })
    expect(r.status).toBe(401)
    expect(await r.json()).toEqual({ error: { code: 'proxy_auth_required', message: 'this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header' } })
    const wrong = await fetch(`${main}/_proxy/quitquitquit`, { method: 'POST', headers: { 'x-proxy-key': 'not-the-key' } })
    expect(wrong.status).toBe(401)
    expect(await quitWasRequested(stack)).toBe(false)
  })

  it.skipIf(external === undefined)('a caller on another address, with the key and a loopback Host header', async () => {
    const r = await rawRequest(`http://${external ?? ''}:${new URL(stack.url).port}`, `POST /_proxy/quitquitquit HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Proxy-Key: ${KEY}\r\nX-Forwarded-For: 127.0.0.1\r\nContent-Length: 0\r\n\r\n`)
    expect(r.status).toBe(403)
    expect(r.headers['proxy-status']).toBe('cxone-auth-proxy; error=http_request_denied; details="forbidden_caller"')
    expect(JSON.parse(r.body)).toEqual({ error: { code: 'forbidden_caller', message: `POST /_proxy/quitquitquit came from ${external ?? ''}, not from this machine: only a loopback caller may stop the proxy; run \`cxone-auth-proxy shutdown\` next to it` } })
    expect(await quitWasRequested(stack)).toBe(false)
  })

  it('on the admin listener, which never serves it', async () => {
    const r = await fetch(`${stack.running.adminUrl ?? ''}/_proxy/quitquitquit`, { method: 'POST', headers: { 'x-proxy-key': KEY } })
    expect(r.status).toBe(404)
    expect(await r.json()).toEqual({ error: { code: 'not_found', message: 'the admin listener serves only /_proxy/healthz, /_proxy/readyz, /_proxy/metrics and the status page /_proxy/; it never forwards' } })
    expect(await quitWasRequested(stack)).toBe(false)
  })

  it('a browser page on another site (a cross-site POST carries an Origin)', async () => {
    const r = await fetch(`${main}/_proxy/quitquitquit`, { method: 'POST', headers: { 'x-proxy-key': KEY, origin: 'https://evil.example' } })
    expect(r.status).toBe(403)
    expect(await r.json()).toEqual({ error: { code: 'cross_site_request', message: 'a browser page at https://evil.example may not call the proxy: add its origin to PROXY_CORS_ORIGINS if it should' } })
    expect(await quitWasRequested(stack)).toBe(false)
  })

  it('any method but POST', async () => {
    const r = await fetch(`${main}/_proxy/quitquitquit`, { headers: { 'x-proxy-key': KEY } })
    expect(r.status).toBe(404)
    expect(await r.json()).toEqual({ error: { code: 'not_found', message: 'no such proxy endpoint: use /_proxy/healthz, /_proxy/readyz or /_proxy/metrics' } })
    expect(await quitWasRequested(stack)).toBe(false)
  })

  it('and a loopback caller with the key is accepted', async () => {
    const r = await fetch(`${main}/_proxy/quitquitquit`, { method: 'POST', headers: { 'x-proxy-key': KEY } })
    expect(r.status).toBe(202)
    expect(await r.json()).toEqual({ status: 'shutting_down', graceMs: 30000 })
    await expect(stack.running.proxy.quitRequested).resolves.toBe('POST /_proxy/quitquitquit')
  })
})

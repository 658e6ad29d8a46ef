import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'

describe('one log line per request', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startStack() })
  afterAll(async () => { await stack.close() })

  it('logs method, path without query, status, upstream time, request id and token fingerprint once', async () => {
    const r = await fetch(`${stack.url}${API}/skills/activity?updatedSince=2026-01-01T00:00:00Z&top=2`, { headers: { 'x-request-id': 'job-17-poll-3' } })
    expect(r.status).toBe(200)
    expect(r.headers.get('x-request-id')).toBe('job-17-poll-3')
    expect(stack.sim.apiRequests.at(-1)?.headers['x-request-id']).toBe('job-17-poll-3')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const lines = stack.logs.entries.filter((e) => e.reqId === 'job-17-poll-3')
    expect(lines).toHaveLength(1)
    const line = lines[0] as Record<string, unknown>
    expect(line).toMatchObject({ level: 30, msg: 'request', method: 'GET', path: `${API}/skills/activity`, status: 200 })
    expect(line.upstreamMs).toEqual(expect.any(Number))
    expect(line.token).toBe(stack.running.proxy.provider.current()?.fingerprint)
    expect(JSON.stringify(line)).not.toContain('updatedSince')
  })

  it('generates a request id when the caller sends none, and refuses to echo a malformed one', async () => {
    const r = await fetch(`${stack.url}${API}/server-time`, { headers: { 'x-request-id': 'bad id with spaces' } })
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('probes under /_proxy/ get a debug line; an unknown /_proxy/ path gets an info line', async () => {
    const debug = await startStack({ env: { LOG_LEVEL: 'debug' } })
    try {
      const health = await fetch(`${debug.url}/_proxy/healthz`, { headers: { 'x-request-id': 'probe-1' } })
      expect(health.status).toBe(200)
      const unknown = await fetch(`${debug.url}/_proxy/stats`, { headers: { 'x-request-id': 'typo-1' } })
      expect(unknown.status).toBe(404)
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(debug.logs.entries.filter((e) => e.reqId === 'probe-1')).toMatchObject([{ level: 20, msg: 'request', method: 'GET', path: '/_proxy/healthz', status: 200 }])
      expect(debug.logs.entries.filter((e) => e.reqId === 'typo-1')).toMatchObject([{ level: 30, msg: 'request', method: 'GET', path: '/_proxy/stats', status: 404 }])
    } finally {
      await debug.close()
    }
  })

  it('start-up logs one listening line, the proxy\'s own with its settings', () => {
    const listening = stack.logs.entries.filter((e) => /listening/i.test(String(e.msg)))
    expect(listening).toMatchObject([{ msg: `cxone-auth-proxy listening on ${stack.url}` }])
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { KEYS, requestLines, startCallers, type CallerStack } from './helpers/callers.js'
import { sample } from './helpers/metrics.js'
import type { Handler } from './helpers/upstream.js'

const ACTIVITY = `${API}/skills/activity`

/** `?busy` answers 429 as CXone does when the tenant is over its limit. */
const handler: Handler = (req, res, _body, n) => {
  if (req.url?.includes('busy') === true) {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
    res.end('{"error":"Too Many Requests"}')
    return
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ call: n }))
}

const get = async (s: CallerStack, path: string, key?: string, method = 'GET'): Promise<number> => {
  const res = await fetch(`${s.url}${path}`, { method, headers: key === undefined ? {} : { 'x-proxy-key': key } })
  await res.arrayBuffer()
  return res.status
}

interface Row { caller: string, requests: number, upstreamCalls: number, spared: number, refusals: number, rateLimited: number, shadowRefusals: number, cxone429: number, lastSeen: string | null }

describe('who called what: the request line, the metrics and the status page name each caller', () => {
  let s: CallerStack
  beforeAll(async () => {
    s = await startCallers({
      cache: [{ route: `GET ${ACTIVITY}`, ttlMs: 600_000 }],
      callers: { wallboard: {}, agent: { readOnly: true }, export: { rate: { perSecond: 0.001, burst: 1 } } }
    }, { handler })
    expect(await get(s, ACTIVITY, KEYS.wallboard)).toBe(200)
    expect(await get(s, ACTIVITY, KEYS.agent)).toBe(200)
    expect(await get(s, `${API}/contacts/x`, KEYS.agent, 'DELETE')).toBe(403)
    expect(await get(s, `${API}/teams?busy`, KEYS.export)).toBe(429)
    expect(await get(s, `${API}/teams?again`, KEYS.export)).toBe(429)
    expect(await get(s, ACTIVITY)).toBe(401)
  })
  afterAll(async () => { await s.close() })

  it('every request line, admitted or refused, carries its caller', () => {
    const lines = requestLines(s).filter((l) => !String(l.path).startsWith('/_proxy/'))
    expect(lines.map((l) => [l.caller, l.status, l.quota ?? null])).toEqual([
      ['wallboard', 200, null], ['agent', 200, 'cache'], ['agent', 403, null], ['export', 429, null], ['export', 429, null], ['_unidentified', 401, null]
    ])
  })

  it('status.json has a row per caller: requests, calls to CXone, spared, refusals, its 429s from CXone', async () => {
    const res = await fetch(`${s.url}/_proxy/status.json`, { headers: { 'x-proxy-key': KEYS.wallboard } })
    const body = await res.json() as { profiles: Array<{ callers: Row[] }> }
    const rows = body.profiles[0]?.callers ?? []
    const counts = Object.fromEntries(rows.map(({ caller, lastSeen, ...n }) => [caller, { ...n, seen: lastSeen !== null }]))
    expect(counts).toEqual({
      wallboard: { requests: 1, upstreamCalls: 1, spared: 0, refusals: 0, rateLimited: 0, shadowRefusals: 0, cxone429: 0, seen: true },
      agent: { requests: 2, upstreamCalls: 0, spared: 1, refusals: 1, rateLimited: 0, shadowRefusals: 0, cxone429: 0, seen: true },
      export: { requests: 2, upstreamCalls: 1, spared: 0, refusals: 1, rateLimited: 1, shadowRefusals: 0, cxone429: 1, seen: true },
      _unidentified: { requests: 1, upstreamCalls: 0, spared: 0, refusals: 1, rateLimited: 0, shadowRefusals: 0, cxone429: 0, seen: true }
    })
  })

  it('the status page is drawn on the server with the callers table, and shows no key', async () => {
    const html = await (await fetch(`${s.url}/_proxy/`, { headers: { 'x-proxy-key': KEYS.wallboard } })).text()
    expect(html).toContain('data-caller="export"')
    expect(html).toContain('<td>agent</td>')
    for (const key of Object.values(KEYS)) expect(html).not.toContain(key)
  })

  it('cxone_proxy_caller_requests_total counts by caller and outcome, with no key in any label', async () => {
    const text = await (await fetch(`${s.url}/_proxy/metrics`, { headers: { 'x-proxy-key': KEYS.wallboard } })).text()
    const n = (caller: string, outcome: string): number | undefined => sample(text, 'cxone_proxy_caller_requests_total', { profile: 'default', caller, outcome })
    expect([n('wallboard', 'upstream'), n('agent', 'cache'), n('agent', 'refused'), n('export', 'upstream'), n('export', 'rate_limited'), n('_unidentified', 'refused')]).toEqual([1, 1, 1, 1, 1, 1])
    for (const key of Object.values(KEYS)) expect(text).not.toContain(key)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { KEYS, requestLines, startCallers, type CallerStack } from './helpers/callers.js'
import { sample } from './helpers/metrics.js'

const call = async (s: CallerStack, method: string, key?: string): Promise<number> => {
  const res = await fetch(`${s.url}${API}/teams`, { method, headers: key === undefined ? {} : { 'x-proxy-key': key } })
  await res.arrayBuffer()
  return res.status
}

const shadowLines = (s: CallerStack): Array<[unknown, unknown]> => s.stack.logs.entries.filter((e) => String(e.msg).startsWith('shadow mode')).map((e) => [e.caller, e.code])

describe('shadow mode refuses nothing and counts everything it would have refused', () => {
  let s: CallerStack | undefined
  afterEach(async () => { await s?.close() })

  it('"enforce": false on a caller: its policy and its share are logged and counted, never enforced', async () => {
    s = await startCallers({ callers: { wallboard: {}, agent: { readOnly: true, rate: { perSecond: 0.001, burst: 1 }, enforce: false } } })
    const seen = s.api.seen.length
    expect(await call(s, 'POST', KEYS.agent)).toBe(200)
    expect(await call(s, 'GET', KEYS.agent)).toBe(200)
    expect(s.api.seen.length).toBe(seen + 2)
    expect(shadowLines(s)).toEqual([['agent', 'caller_forbidden'], ['agent', 'caller_rate_limited']])
    // An enforced caller beside it is still enforced.
    expect(await call(s, 'GET')).toBe(401)
    const text = await (await fetch(`${s.url}/_proxy/metrics`, { headers: { 'x-proxy-key': KEYS.wallboard } })).text()
    expect(sample(text, 'cxone_proxy_caller_shadow_refusals_total', { caller: 'agent' })).toBe(2)
    expect(requestLines(s).filter((l) => l.caller === 'agent').map((l) => l.status)).toEqual([200, 200])
  })

  it('PROXY_CALLERS_ENFORCE=false: a call no caller is recognised in goes through, counted as _unidentified', async () => {
    s = await startCallers({ callers: { wallboard: {} } }, { env: { PROXY_CALLERS_ENFORCE: 'false' } })
    expect(await call(s, 'GET', 'nobody-has-this-key')).toBe(200)
    expect(shadowLines(s)).toEqual([['_unidentified', 'proxy_auth_required']])
    const status = await (await fetch(`${s.url}/_proxy/status.json`, { headers: { 'x-proxy-key': KEYS.wallboard } })).json() as { profiles: Array<{ callers: Array<{ caller: string, shadowRefusals: number }> }> }
    expect(status.profiles[0]?.callers.find((c) => c.caller === '_unidentified')?.shadowRefusals).toBe(1)
  })
})

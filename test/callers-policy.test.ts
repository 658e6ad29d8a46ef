import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { KEYS, startCallers, type CallerStack } from './helpers/callers.js'
import type { Handler } from './helpers/upstream.js'

const ACTIVITY = `${API}/skills/activity`
const HELD = `${API}/agents/states`

/** Names the call it answers; a path with `held` in its query waits for the test to let it go. */
let release: () => void = () => {}
const handler: Handler = (req, res, _body, n) => {
  const answer = (): void => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ call: n })) }
  if (req.url?.includes('held') === true) release = answer
  else answer()
}

const errorOf = async (res: Response): Promise<{ code: string, message: string }> => ((await res.json()) as { error: { code: string, message: string } }).error

describe('a caller\'s own rules narrow its profile\'s, before anything shared is read', () => {
  let s: CallerStack
  beforeAll(async () => {
    s = await startCallers({
      cache: [{ route: `GET ${ACTIVITY}`, ttlMs: 60_000 }],
      callers: { wallboard: {}, agent: { readOnly: true }, export: { routes: ['GET /inContactAPI/services/*/contacts/**'] } }
    }, { handler })
  })
  afterAll(async () => { await s.close() })

  it('a read-only caller is refused a POST with 403 caller_forbidden naming its setting; nothing is sent', async () => {
    const seen = s.api.seen.length
    const res = await fetch(`${s.url}${API}/contacts/actions`, { method: 'POST', headers: { 'x-proxy-key': KEYS.agent, 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(403)
    expect(await errorOf(res)).toEqual({ code: 'caller_forbidden', message: 'caller "agent" may not call POST: its callers.agent.readOnly is true (GET, HEAD and OPTIONS only); set it to false if it should write' })
    expect(s.api.seen.length).toBe(seen)
    const ok = await fetch(`${s.url}${API}/contacts/actions`, { method: 'POST', headers: { 'x-proxy-key': KEYS.wallboard, 'content-type': 'application/json' }, body: '{}' })
    expect(ok.status).toBe(200)
  })

  it('a caller refused a route never gets its cached answer, primed by another caller', async () => {
    const primed = await fetch(`${s.url}${ACTIVITY}`, { headers: { 'x-proxy-key': KEYS.wallboard } })
    expect(primed.status).toBe(200)
    const body = await primed.text()
    const hit = await fetch(`${s.url}${ACTIVITY}`, { headers: { 'x-proxy-key': KEYS.agent } })
    expect(hit.headers.get('cache-status')).toMatch(/hit/)
    expect(await hit.text()).toBe(body)
    const refused = await fetch(`${s.url}${ACTIVITY}`, { headers: { 'x-proxy-key': KEYS.export } })
    expect(refused.status).toBe(403)
    expect(refused.headers.get('cache-status')).toBeNull()
    const e = await errorOf(refused)
    expect(e.code).toBe('caller_forbidden')
    expect(e.message).toContain('callers.export.routes')
  })

  it('a caller refused a route never joins its call in flight, led by another caller', async () => {
    const seen = s.api.seen.length
    const led = fetch(`${s.url}${HELD}?held`, { headers: { 'x-proxy-key': KEYS.wallboard } })
    await expect.poll(() => s.api.seen.length).toBe(seen + 1)
    const joined = fetch(`${s.url}${HELD}?held`, { headers: { 'x-proxy-key': KEYS.agent } })
    const refused = await fetch(`${s.url}${HELD}?held`, { headers: { 'x-proxy-key': KEYS.export } })
    expect(refused.status).toBe(403)
    expect((await errorOf(refused)).code).toBe('caller_forbidden')
    release()
    const [a, b] = await Promise.all([led, joined])
    expect(await a.json()).toEqual(await b.json())
    expect(s.api.seen.length).toBe(seen + 1)
  })
})

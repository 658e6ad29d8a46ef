import { describe, expect, it } from 'vitest'
import { authorise, indexCallers, recognise, type CallerIndex, type CallerPolicy, type Decision, type Recognised } from '../src/core/caller-policy.js'
import { readCallers, type CallersInput } from '../src/core/callers.js'
import { ConfigError } from '../src/core/errors.js'
import type { RouteRule } from '../src/core/settings.js'

/** Issue 22: which caller a call is, and whether its own policy allows the call; pure, tested with plain data. */

const KEYS = { PROXY_CALLER_WALLBOARD_KEY: 'wallboard-0123456789abcdef', PROXY_CALLER_EXPORT_KEY: 'export-0123456789abcdef', PROXY_CALLER_AGENT_KEY: 'agent-0123456789abcdef' }

function index (raw: Record<string, unknown>, over: Partial<CallersInput> = {}, profile: { readOnly: boolean, routes: RouteRule[] } = { readOnly: false, routes: [] }): CallerIndex {
  const problems: ConfigError[] = []
  const set = readCallers({ profile: 'default', raw, where: 'config file x.json', readOnly: profile.readOnly, routes: profile.routes, callersEnforce: true, callerKeysDir: undefined, apiKeys: [], apiKeysVar: 'PROXY_API_KEYS', env: KEYS, ...over }, problems)
  expect(problems).toEqual([])
  if (set === undefined) throw new Error('no callers')
  return indexCallers(set, profile)
}
function named (r: Recognised): string {
  return r.ok ? r.policy.caller.name : `${r.error.code}${r.enforce ? '' : ' (shadow)'}: ${r.error.message}`
}
function policy (i: CallerIndex, name: string): CallerPolicy {
  const p = i.policies.get(name)
  if (p === undefined) throw new Error(`no caller ${name}`)
  return p
}
function verdict (d: Decision): string {
  return d.ok ? 'ok' : `${d.error.status} ${d.error.code}${d.enforce ? '' : ' (shadow)'}: ${d.error.message}`
}

describe('recognise', () => {
  const sock = '/run/cxone/wallboard.sock'
  const i = index({ wallboard: { socket: sock }, export: {}, agent: { loopback: true } })

  it('knows a caller by its key, by its socket, and the loopback caller by a key-less loopback call', () => {
    expect(named(recognise(i, { key: KEYS.PROXY_CALLER_EXPORT_KEY, socketPath: undefined, loopback: false }))).toBe('export')
    expect(named(recognise(i, { key: KEYS.PROXY_CALLER_WALLBOARD_KEY, socketPath: undefined, loopback: false }))).toBe('wallboard')
    expect(named(recognise(i, { key: undefined, socketPath: sock, loopback: true }))).toBe('wallboard')
    expect(named(recognise(i, { key: KEYS.PROXY_CALLER_WALLBOARD_KEY, socketPath: sock, loopback: true }))).toBe('wallboard')
    expect(named(recognise(i, { key: undefined, socketPath: undefined, loopback: true }))).toBe('agent')
    // The profile's own socket (no caller's) is local: a key-less call there is the loopback caller's.
    expect(named(recognise(i, { key: undefined, socketPath: '/run/cxone/proxy.sock', loopback: true }))).toBe('agent')
  })

  it('refuses a call it cannot name, and never takes a wrong key for the loopback caller', () => {
    expect(named(recognise(i, { key: undefined, socketPath: undefined, loopback: false }))).toBe('proxy_auth_required: this proxy serves named callers only: send your caller\'s key as the X-Proxy-Key header, or call through your caller\'s socket')
    expect(named(recognise(i, { key: 'wallboard-0123456789abcdeF', socketPath: undefined, loopback: true }))).toBe('proxy_auth_required: the X-Proxy-Key sent belongs to no caller of this proxy: send your caller\'s key (its PROXY_CALLER_<NAME>_KEY), or ask the operator for one')
    expect(named(recognise(i, { key: ['a', 'b'], socketPath: undefined, loopback: true }))).toBe('proxy_auth_required: the request has more than one X-Proxy-Key header: send one')
    expect(named(recognise(i, { key: KEYS.PROXY_CALLER_EXPORT_KEY, socketPath: sock, loopback: true }))).toBe('proxy_auth_required: this socket is caller "wallboard"\'s, and the X-Proxy-Key sent is caller "export"\'s: send no key through it, or that caller\'s own')
    const noLoopback = index({ export: {} })
    expect(named(recognise(noLoopback, { key: undefined, socketPath: undefined, loopback: true }))).toMatch(/^proxy_auth_required: /)
  })

  it('with PROXY_CALLERS_ENFORCE=false lets an unidentified call through, in shadow, unless PROXY_API_KEYS guarded it before', () => {
    const shadow = index({ export: {} }, { callersEnforce: false })
    expect(named(recognise(shadow, { key: undefined, socketPath: undefined, loopback: false }))).toMatch(/^proxy_auth_required \(shadow\): /)
    const keyed = index({ export: {} }, { callersEnforce: false, apiKeys: ['legacy-0123456789abcdef'] })
    expect(named(recognise(keyed, { key: undefined, socketPath: undefined, loopback: false }))).toMatch(/^proxy_auth_required: /)
    expect(named(recognise(keyed, { key: 'legacy-0123456789abcdef', socketPath: undefined, loopback: false }))).toBe('api-keys')
  })
})

describe('authorise', () => {
  const i = index({
    agent: { readOnly: true },
    export: { routes: ['POST /data-extraction/*/jobs/**', 'GET /data-extraction/**'] },
    wallboard: { preset: 'reporting' },
    viewer: { preset: 'read-only' },
    free: {},
    trial: { readOnly: true, enforce: false }
  }, { env: { ...KEYS, PROXY_CALLER_VIEWER_KEY: 'viewer-0123456789abcdef', PROXY_CALLER_FREE_KEY: 'free-0123456789abcdef', PROXY_CALLER_TRIAL_KEY: 'trial-0123456789abcdef' } })

  it('a read-only caller: reads pass, a POST is refused naming the caller and the setting', () => {
    expect(verdict(authorise(policy(i, 'agent'), 'GET', '/inContactAPI/services/v31.0/agents/states'))).toBe('ok')
    expect(verdict(authorise(policy(i, 'agent'), 'POST', '/inContactAPI/services/v31.0/agents/1/logout'))).toBe('403 caller_forbidden: caller "agent" may not call POST: its callers.agent.readOnly is true (GET, HEAD and OPTIONS only); set it to false if it should write')
    expect(verdict(authorise(policy(i, 'viewer'), 'DELETE', '/x'))).toBe('403 caller_forbidden: caller "viewer" may not call DELETE: its callers.viewer.preset "read-only" allows GET, HEAD and OPTIONS only; choose another preset if it should write')
    expect(verdict(authorise(policy(i, 'agent'), 'GET', '/x', { 'x-http-method-override': 'DELETE' }))).toBe('403 caller_forbidden: caller "agent" may not send the x-http-method-override header while its policy limits methods or routes: send the real method and path')
  })

  it('routes: only the listed ones, matched on the path a server would act on', () => {
    const p = policy(i, 'export')
    expect(verdict(authorise(p, 'POST', '/data-extraction/v1/jobs'))).toBe('ok')
    expect(verdict(authorise(p, 'GET', '/data-extraction/v1/jobs/42/files'))).toBe('ok')
    expect(verdict(authorise(p, 'GET', '/inContactAPI/services/v31.0/skills/activity'))).toBe('403 caller_forbidden: caller "export" may not call GET /inContactAPI/services/v31.0/skills/activity: it is not in callers.export.routes; add a rule such as "GET /inContactAPI/services/v31.0/skills/activity" there if it should')
    expect(authorise(p, 'GET', '/data-extraction/v1/%2e%2e/%2e%2e/inContactAPI/x').ok).toBe(false)
    expect(authorise(p, 'GET', '/data-extraction;x=1/v1/jobs').ok).toBe(true)
  })

  it('the reporting preset: real-time and reporting reads and extraction jobs, any case of the family', () => {
    const p = policy(i, 'wallboard')
    for (const path of ['/inContactAPI/services/v31.0/skills/activity', '/incontactapi/services/v25.0/agents/states', '/InContactAPI/services/v31.0/contacts/completed', '/inContactAPI/services/v31.0/wfm-data/skills/agent-performance', '/data-extraction/v1/jobs/7']) {
      expect([path, verdict(authorise(p, 'GET', path))]).toEqual([path, 'ok'])
    }
    expect(verdict(authorise(p, 'POST', '/data-extraction/v1/jobs/sync'))).toBe('ok')
    expect(verdict(authorise(p, 'POST', '/inContactAPI/services/v31.0/agents/1/logout'))).toBe('403 caller_forbidden: caller "wallboard" may not call POST /inContactAPI/services/v31.0/agents/1/logout: it is not among the routes of its callers.wallboard.preset "reporting" (docs/callers.md#presets); remove the preset and list its routes in "routes" if it should')
    expect(authorise(p, 'GET', '/user-management/v1/users').ok).toBe(false)
  })

  it('a caller with no rules may call whatever its profile allows; shadow mode says what it would refuse', () => {
    expect(verdict(authorise(policy(i, 'free'), 'DELETE', '/anything'))).toBe('ok')
    expect(verdict(authorise(policy(i, 'trial'), 'POST', '/x'))).toBe('403 caller_forbidden (shadow): caller "trial" may not call POST: its callers.trial.readOnly is true (GET, HEAD and OPTIONS only); set it to false if it should write')
  })

  it('names a named profile\'s caller by its place in the file', () => {
    const problems: ConfigError[] = []
    const set = readCallers({ profile: 'bu-two', raw: { agent: { readOnly: true } }, where: 'x', readOnly: false, routes: [], callersEnforce: true, callerKeysDir: undefined, apiKeys: [], apiKeysVar: 'PROXY_BU_TWO_API_KEYS', env: { PROXY_BU_TWO_CALLER_AGENT_KEY: 'agent-0123456789abcdef' } }, problems)
    const p = indexCallers(set as NonNullable<typeof set>, { readOnly: false, routes: [] }).policies.get('agent') as CallerPolicy
    expect(verdict(authorise(p, 'PUT', '/x'))).toContain('its profiles.bu-two.callers.agent.readOnly is true')
  })
})

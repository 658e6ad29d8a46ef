import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigProblems, loadConfig } from '../src/core/config.js'
import { compileRouting } from '../src/core/routing.js'

const SECRETS = { CXONE_CLIENT_ID: 'id', CXONE_CLIENT_SECRET: 'secret' }

function load (file: unknown, env: Record<string, string> = {}): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'cxone-upstreams-'))
  writeFileSync(join(dir, 'proxy.config.json'), JSON.stringify(file))
  return loadConfig({ env: { ...SECRETS, ...env }, cwd: dir })
}

function problems (file: unknown, env: Record<string, string> = {}): string[] {
  try {
    load(file, env)
  } catch (err) {
    if (err instanceof ConfigProblems) return err.problems.map((p) => p.message)
    throw err
  }
  return []
}

describe('the "upstreams" routing entries in proxy.config.json', () => {
  it('keeps named upstreams and reduces an explicit URL to its origin', () => {
    const c = load({ upstreams: [{ prefix: '/wfm/', upstream: 'https://wfm.example.com/' }, { prefix: '/tenants/', upstream: 'ui' }] })
    expect(c.settings.upstreams).toEqual([{ prefix: '/wfm/', upstream: 'https://wfm.example.com' }, { prefix: '/tenants/', upstream: 'ui' }])
  })

  it('names the file, the entry and the field of every mistake, all at once', () => {
    const found = problems({
      upstreams: [
        { prefix: 'dfo/', upstream: 'digital' },
        { prefix: '/x/', upstream: 'mars' },
        { prefix: '/y/', upstream: 'http://wfm.example.com' },
        { prefix: '/z/', upstream: 'https://wfm.example.com/api?x=1' },
        { prefix: '/w/', upstream: 'api', name: 'x' },
        'api'
      ]
    })
    expect(found).toHaveLength(6)
    expect(found[0]).toMatch(/"upstreams"\[0\]\.prefix = "dfo\/" is not valid: write a path prefix that starts with \//)
    expect(found[1]).toMatch(/"upstreams"\[1\]\.upstream="mars" is not a URL/)
    expect(found[2]).toMatch(/"upstreams"\[2\]\.upstream = http:\/\/wfm\.example\.com uses plain http off loopback/)
    expect(found[3]).toMatch(/"upstreams"\[3\]\.upstream = .* has a path or query: name the origin only \(https:\/\/wfm\.example\.com\)/)
    expect(found[4]).toMatch(/"upstreams"\[4\] has unknown field "name"/)
    expect(found[5]).toMatch(/"upstreams"\[5\] must be an object/)
  })

  it('refuses CXONE_UI_URL and CXONE_DIGITAL_URL in plain http off loopback', () => {
    const found = problems({}, { CXONE_UI_URL: 'http://na1.nice-incontact.com', CXONE_DIGITAL_URL: 'http://api-de-na1.niceincontact.com' })
    expect(found).toEqual([
      'CXONE_UI_URL=http://na1.nice-incontact.com uses plain http off loopback: the token would travel unencrypted; use https://',
      'CXONE_DIGITAL_URL=http://api-de-na1.niceincontact.com uses plain http off loopback: the token would travel unencrypted; use https://'
    ])
  })
})

describe('the routing table', () => {
  const t = compileRouting([{ prefix: '/wfm/schedules/', upstream: 'https://wfm.example.com' }, { prefix: '/DFO/3.0/special', upstream: 'api' }])
  it.each([
    ['/dfo/3.0/contacts', 'digital'],
    ['/DFO/3.0/contacts', 'digital'],
    ['/dfo', 'digital'],
    ['/dfox/3.0', 'api'],
    ['/dfo/3.0/special', 'api'],
    ['/dfo/3.0/special/1', 'api'],
    ['/dfo/3.0/specials', 'digital'],
    ['/engager/2.0/x', 'digital'],
    ['/business-data-manager/v1/x', 'ui'],
    ['/business-data-manager-x/v1', 'api'],
    ['/wfm/schedules/1', 'https://wfm.example.com'],
    ['/wfm/schedule', 'api'],
    ['/inContactAPI/services/v31.0/dfo/', 'api'],
    ['/', 'api'],
    ['//dfo/', 'api']
  ])('%s → %s', (path, upstream) => {
    expect(t.route(path)).toBe(upstream)
  })
})

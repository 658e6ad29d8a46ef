import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upstreamSettingName } from '../src/proxy/upstream-errors.js'
import { startStack, type Stack } from './helpers/harness.js'

/** A resolver that knows loopback only, as a machine without the tenant's DNS: any other host is ENOTFOUND. */
function loopbackOnlyLookup (host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, address?: string, family?: number) => void): void {
  if (host === '127.0.0.1' || host === 'localhost') { cb(null, '127.0.0.1', 4); return }
  cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host }))
}

describe('a routed upstream whose host does not resolve (issue 25)', () => {
  let stack: Stack
  beforeAll(async () => {
    const dispatcher = new Agent({ connect: { lookup: loopbackOnlyLookup as never, rejectUnauthorized: true }, keepAliveTimeout: 1_000 })
    stack = await startStack({ env: { CXONE_DIGITAL_URL: 'https://api-de-na1.unresolvable.test' }, deps: { dispatcher } })
  })
  afterAll(async () => { await stack.close() })

  it('answers 502 naming the setting of the upstream the path went to, CXONE_DIGITAL_URL for /dfo/, not CXONE_API_URL', async () => {
    const res = await fetch(`${stack.url}/dfo/3.0/contacts`)
    const body = await res.json() as { error: { code: string, message: string } }
    expect(res.status).toBe(502)
    expect(res.headers.get('proxy-status')).toContain('dns_error')
    expect(body.error.code).toBe('destination_unavailable')
    expect(body.error.message).toContain('could not be resolved (ENOTFOUND): check DNS, or CXONE_DIGITAL_URL')
    expect(body.error.message).not.toContain('CXONE_API_URL')
  })

  it('names a profile\'s own setting, and a configured upstream\'s entry', () => {
    expect(upstreamSettingName('default', 'ui')).toBe('CXONE_UI_URL')
    expect(upstreamSettingName('emea', 'digital')).toBe('profiles.emea.digitalUrl')
    expect(upstreamSettingName('default', 'https://wfm.example.test')).toBe('the "upstreams" entry for https://wfm.example.test')
  })
})

import fc from 'fast-check'
import { describe, it, expect } from 'vitest'
import { upstreamRequestHeaders } from '../src/proxy/headers.js'

const DANGEROUS = ['authorization', 'proxy-authorization', 'x-proxy-key', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization'])

const headerName = fc.oneof(fc.constantFrom(...DANGEROUS), fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/))
const headerValue = fc.string({ maxLength: 40 })

describe('property: header hygiene', () => {
  it('no generated header set carries an inbound credential or a hop-by-hop field upstream', () => {
    fc.assert(fc.property(fc.dictionary(headerName, headerValue, { maxKeys: 12 }), fc.array(headerName, { maxLength: 4 }), (headers, listed) => {
      const incoming = { ...headers, connection: listed.join(', ') }
      const out = upstreamRequestHeaders(incoming, 'the-token', 'api.example.com', 'rid')
      expect(out.authorization).toBe('Bearer the-token')
      expect(out.host).toBe('api.example.com')
      for (const name of Object.keys(out)) {
        expect(HOP.has(name), name).toBe(false)
        expect(['x-proxy-key', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']).not.toContain(name)
        if (!['authorization', 'host', 'x-request-id', 'accept'].includes(name)) expect(listed).not.toContain(name)
      }
    }), { numRuns: 500 })
  })
})

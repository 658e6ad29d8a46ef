import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkTarget } from '../src/proxy/admission.js'
import { startApiStack, type Stack } from './helpers/harness.js'
import { rawRequest } from './helpers/raw-http.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

const PIECES = ['/', '//', '.', '..', '%2e', '%2E', '%2f', '%5c', '%', '%25', '?', '#', '@', ':', 'a', 'skills', 'v31.0', 'http:', 'https://', '127.0.0.1', 'evil.example', ';', '&', '=', '~', '%00', '+']
const target = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 10 }).map((parts) => parts.join(''))

describe('property: request targets', () => {
  it('a target either is refused or stays within the upstream origin, with no dot segment', () => {
    fc.assert(fc.property(target, (t) => {
      let accepted = true
      try { checkTarget(t) } catch { accepted = false }
      if (!accepted) return
      const url = new URL(t, 'https://api.example.com')
      expect(url.origin).toBe('https://api.example.com')
      const path = t.split('?')[0] ?? ''
      expect(path.split('/').some((seg) => /^(\.|%2e){1,2}$/i.test(seg))).toBe(false)
    }), { numRuns: 2000 })
  })

  describe('on the wire', () => {
    let api: Upstream
    let decoy: Upstream
    let stack: Stack
    beforeAll(async () => {
      decoy = await startUpstream()
      const s = await startApiStack(undefined, { LOG_LEVEL: 'silent' })
      stack = s
      api = s.api
    })
    afterAll(async () => {
      await stack.close()
      await decoy.close()
    })

    it('no generated target or routing header makes a request reach any origin but the configured one', async () => {
      const decoyHost = new URL(decoy.url).host
      const method = fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE')
      const extra = fc.subarray([`Forwarded: host=${decoyHost}`, `X-Forwarded-Host: ${decoyHost}`, `X-Forwarded-Proto: http`, `X-Original-URL: ${decoy.url}/`])
      await fc.assert(fc.asyncProperty(method, fc.oneof(target, target.map((t) => `${decoy.url}${t}`), fc.constant(decoyHost)), extra, async (m, t, headers) => {
        const before = api.seen.length
        const r = await rawRequest(stack.url, `${m} ${t} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: 0\r\n\r\n`)
        expect(decoy.seen).toHaveLength(0)
        for (const seen of api.seen.slice(before)) {
          expect(seen.headers.authorization).toMatch(/^Bearer /)
          expect(seen.headers.forwarded).toBeUndefined()
        }
        if (r.status === 200) expect(api.seen.length).toBe(before + 1)
      }), { numRuns: 150 })
    }, 60_000)
  })
})

import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const DOWNLOAD = randomBytes(20 * 1024 * 1024)

/** A raw HTTP/1.1 GET so the target reaches the proxy exactly as written. */
async function rawGet (url: string, path: string): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { path, method: 'GET' }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('forwarding bodies, queries and status codes', () => {
  let upstream: Upstream
  let stack: Stack
  beforeAll(async () => {
    upstream = await startUpstream((req, res, body) => {
      const path = (req.url ?? '').split('?')[0] ?? ''
      if (path.endsWith('/download')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        let sent = 0
        const pump = (): void => {
          while (sent < DOWNLOAD.length) {
            const chunk = DOWNLOAD.subarray(sent, sent + 64 * 1024)
            sent += chunk.length
            if (!res.write(chunk)) { res.once('drain', pump); return }
          }
          res.end()
        }
        pump()
      } else if (path.endsWith('/status/204')) {
        res.writeHead(204); res.end()
      } else if (path.endsWith('/status/304')) {
        res.writeHead(304, { etag: '"v1"' }); res.end()
      } else if (path.endsWith('/status/429')) {
        res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }); res.end('{"error":"slow down"}')
      } else if (path.endsWith('/redirect')) {
        res.writeHead(302, { location: '/elsewhere' }); res.end()
      } else {
        const text = JSON.stringify({ method: req.method, url: req.url, sha: sha(body), length: body.length, type: req.headers['content-type'], te: req.headers['transfer-encoding'] ?? null })
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(text)
      }
    })
    stack = await startStack({ env: { CXONE_API_URL: upstream.url } })
  })
  afterAll(async () => {
    await stack.close()
    await upstream.close()
  })

  it('passes method, path and query byte for byte', async () => {
    const target = `${API}/skills/%7Bid%7D/activity?a=%7e&b=+&c=%2B&d&e=1&e=2&f=%C3%A9&g=x%20y&h=&fields=skillId,skillName`
    const r = await rawGet(stack.url, target)
    expect(r.status).toBe(200)
    expect(upstream.seen.at(-1)?.url).toBe(target)
  })

  it('a 5 MiB POST body arrives intact', async () => {
    const body = randomBytes(5 * 1024 * 1024)
    const r = await fetch(`${stack.url}${API}/upload`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ method: 'POST', sha: sha(body), length: body.length, type: 'application/octet-stream' })
  })

  // Issue 17: a body is read whole before it is forwarded, so a trickling caller never holds an upstream
  // connection; the API gets it with its length.
  it('a chunked upload arrives intact, sent upstream with its length once it has all arrived', async () => {
    const parts = [randomBytes(100_000), randomBytes(300_000), randomBytes(5)]
    const r = await fetch(`${stack.url}${API}/upload`, { method: 'PUT', body: Readable.toWeb(Readable.from(parts)) as ReadableStream, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit)
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ method: 'PUT', sha: sha(Buffer.concat(parts)), length: 400_005, te: null })
  })

  it('a small JSON body is forwarded byte for byte, not re-serialised', async () => {
    const body = '{ "b":1,  "a" : [1, 2] }'
    const r = await fetch(`${stack.url}${API}/contacts/123/notes`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    expect(await r.json()).toMatchObject({ sha: sha(Buffer.from(body)), length: body.length })
  })

  it('a 20 MiB download streams through intact', async () => {
    const r = await fetch(`${stack.url}${API}/download`)
    expect(r.status).toBe(200)
    const got = Buffer.from(await r.arrayBuffer())
    expect(got.length).toBe(DOWNLOAD.length)
    expect(sha(got)).toBe(sha(DOWNLOAD))
  })

  it('passes 204, 304 and 429 with Retry-After through', async () => {
    expect((await rawGet(stack.url, `${API}/status/204`)).status).toBe(204)
    const notModified = await rawGet(stack.url, `${API}/status/304`)
    expect(notModified.status).toBe(304)
    expect(notModified.headers.etag).toBe('"v1"')
    const limited = await rawGet(stack.url, `${API}/status/429`)
    expect(limited.status).toBe(429)
    expect(limited.headers['retry-after']).toBe('7')
    expect(limited.body).toBe('{"error":"slow down"}')
  })

  it('passes redirects to the caller, never follows them', async () => {
    const before = upstream.seen.length
    const r = await rawGet(stack.url, `${API}/redirect`)
    expect(r.status).toBe(302)
    expect(r.headers.location).toBe('/elsewhere')
    expect(upstream.seen.length).toBe(before + 1)
  })
})

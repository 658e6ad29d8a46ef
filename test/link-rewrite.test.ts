import { gzipSync, brotliCompressSync } from 'node:zlib'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildRewrite, LinkRewriter, rewriteChunk, rewriteLocation, type Rewrite } from '../src/proxy/link-rewriter.js'
import { compileRouting } from '../src/core/routing.js'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

const FROM = 'https://api-na1.niceincontact.com'
const TO = 'http://127.0.0.1:8080'

async function pipeChunks (chunks: Buffer[], rw: Rewrite = buildRewrite(FROM, TO)): Promise<string> {
  const out: Buffer[] = []
  for await (const c of Readable.from(chunks).pipe(new LinkRewriter(rw))) out.push(c as Buffer)
  return Buffer.concat(out).toString()
}

describe('link rewriting (stream)', () => {
  const doc = `{"_links":{"self":"${FROM}/inContactAPI/services/v31.0/skills/activity?top=2","next":"${FROM}/inContactAPI/services/v31.0/skills/activity?skip=2","escaped":"${FROM.replaceAll('/', '\\/')}\\/x","other":"${FROM}.evil.example/x","bare":"${FROM}"}}`
  const expected = `{"_links":{"self":"${TO}/inContactAPI/services/v31.0/skills/activity?top=2","next":"${TO}/inContactAPI/services/v31.0/skills/activity?skip=2","escaped":"${TO.replaceAll('/', '\\/')}\\/x","other":"${FROM}.evil.example/x","bare":"${TO}"}}`

  it('rewrites every API-origin URL, plain and JSON-escaped, and leaves look-alike hosts alone', async () => {
    expect(await pipeChunks([Buffer.from(doc)])).toBe(expected)
  })

  it('gives the same answer whatever the chunk boundaries', async () => {
    const bytes = Buffer.from(doc)
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await pipeChunks([bytes.subarray(0, cut), bytes.subarray(cut)])).toBe(expected)
    }
    expect(await pipeChunks([...bytes].map((b) => Buffer.from([b])))).toBe(expected)
  })

  it('rewrites Location only when it points at the API origin', () => {
    const rw = buildRewrite(FROM, TO)
    expect(rewriteLocation(`${FROM}/x?y=1`, rw)).toBe(`${TO}/x?y=1`)
    expect(rewriteLocation(`${FROM}.evil/x`, rw)).toBe(`${FROM}.evil/x`)
    expect(rewriteLocation('/relative', rw)).toBe('/relative')
  })
})

describe('link rewriting with a routing table (issue 11)', () => {
  const DE = 'https://api-de-na1.niceincontact.com'
  const table = compileRouting([{ prefix: '/wfm/schedules', upstream: 'ui' }])
  const rw = buildRewrite([{ origin: FROM, upstreams: ['api'] }, { origin: DE, upstreams: ['digital'] }], TO, table)
  const esc = (s: string): string => s.replaceAll('/', '\\/')
  const doc = JSON.stringify({
    a: `${FROM}/inContactAPI/x`,
    b: `${FROM}/DFO/3.0/contacts`,
    c: `${DE}/dfo/3.0/contacts?page=2`,
    d: `${DE}/engager`,
    e: `${DE}/inContactAPI/x`,
    f: `${FROM}/wfm/schedules/1`,
    g: `${FROM}/wfm/other`,
    h: FROM,
    i: `${DE}?x=1`
  }).replace('"a":"', '"raw":"' + esc(`${DE}/dfo/3.0/y`) + '","raw2":"' + esc(`${FROM}/dfo/3.0/y`) + '","a":"')
  const expected = JSON.stringify({
    a: `${TO}/inContactAPI/x`,
    b: `${FROM}/DFO/3.0/contacts`,
    c: `${TO}/dfo/3.0/contacts?page=2`,
    d: `${TO}/engager`,
    e: `${DE}/inContactAPI/x`,
    f: `${FROM}/wfm/schedules/1`,
    g: `${TO}/wfm/other`,
    h: TO,
    i: `${DE}?x=1`
  }).replace('"a":"', '"raw":"' + esc(`${TO}/dfo/3.0/y`) + '","raw2":"' + esc(`${FROM}/dfo/3.0/y`) + '","a":"')

  it('rewrites a URL only when its path routes back to its origin\'s upstream, plain and JSON-escaped', async () => {
    expect(await pipeChunks([Buffer.from(doc)], rw)).toBe(expected)
  })

  it('gives the same answer whatever the chunk boundaries', async () => {
    const bytes = Buffer.from(doc)
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await pipeChunks([bytes.subarray(0, cut), bytes.subarray(cut)], rw)).toBe(expected)
    }
    expect(await pipeChunks([...bytes].map((b) => Buffer.from([b])), rw)).toBe(expected)
  })

  it('finds an origin that starts with another known origin', () => {
    const two = buildRewrite([{ origin: 'http://127.0.0.1:4000', upstreams: ['api'] }, { origin: 'http://127.0.0.1:40001', upstreams: ['ui'] }], TO, compileRouting([]))
    const body = '{"ui":"http://127.0.0.1:40001/business-data-manager/v1/x","api":"http://127.0.0.1:4000/inContactAPI/x"}'
    expect(Buffer.concat(rewriteChunk(Buffer.from(body), two, true).out).toString()).toBe(`{"ui":"${TO}/business-data-manager/v1/x","api":"${TO}/inContactAPI/x"}`)
  })

  it('rewrites Location by the same rule', () => {
    expect(rewriteLocation(`${DE}/dfo/3.0/contacts/1`, rw)).toBe(`${TO}/dfo/3.0/contacts/1`)
    expect(rewriteLocation(`${FROM}/dfo/3.0/contacts/1`, rw)).toBe(`${FROM}/dfo/3.0/contacts/1`)
    expect(rewriteLocation(`${FROM}/inContactAPI/x?y=1`, rw)).toBe(`${TO}/inContactAPI/x?y=1`)
    expect(rewriteLocation('https://files.example.com/x.csv', rw)).toBe('https://files.example.com/x.csv')
  })
})

describe('link rewriting on the wire', () => {
  let upstream: Upstream
  let stack: Stack
  let body = ''
  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      const page = (req.url ?? '').split('?')[0] ?? ''
      const json = body
      if (page.endsWith('/gzip')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }); res.end(gzipSync(json))
      } else if (page.endsWith('/br')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' }); res.end(brotliCompressSync(json))
      } else if (page.endsWith('/chunked')) {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
        const b = Buffer.from(json)
        for (let i = 0; i < b.length; i += 7) res.write(b.subarray(i, i + 7))
        res.end()
      } else if (page.endsWith('/moved')) {
        res.writeHead(301, { location: `${upstream.url}/inContactAPI/services/v31.0/new-place` }); res.end()
      } else if (page.endsWith('/text')) {
        res.writeHead(200, { 'content-type': 'text/plain' }); res.end(json)
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }); res.end(json)
      }
    })
    stack = await startStack({ env: { CXONE_API_URL: upstream.url } })
    body = JSON.stringify({ totalRecords: 3, _links: { self: `${upstream.url}${API}/skills/activity?skip=0`, next: `${upstream.url}${API}/skills/activity?skip=2`, previous: null } })
  })
  afterAll(async () => {
    await stack.close()
    await upstream.close()
  })

  it.each(['plain', 'gzip', 'br', 'chunked'])('rewrites _links in a %s JSON answer to the proxy\'s own origin', async (kind) => {
    const r = await fetch(`${stack.url}${API}/${kind}`, { headers: { 'accept-encoding': 'identity' } })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-encoding')).toBeNull()
    const json = await r.json() as { _links: { next: string } }
    expect(json._links.next).toBe(`${stack.url}${API}/skills/activity?skip=2`)
    if (kind !== 'plain') expect(r.headers.get('content-length')).toBeNull()
  })

  it('a script that follows _links.next stays behind the proxy', async () => {
    const first = await (await fetch(`${stack.url}${API}/plain`)).json() as { _links: { next: string } }
    const before = upstream.seen.length
    const r = await fetch(first._links.next)
    expect(r.status).toBe(200)
    expect(upstream.seen.length).toBe(before + 1)
    expect(upstream.seen.at(-1)?.headers.authorization).toMatch(/^Bearer /)
  })

  it('rewrites a Location header on the API origin', async () => {
    const r = await fetch(`${stack.url}${API}/moved`, { redirect: 'manual' })
    expect(r.status).toBe(301)
    expect(r.headers.get('location')).toBe(`${stack.url}${API}/new-place`)
  })

  it('a HEAD on compressed JSON gets the headers a GET would get', async () => {
    const head = await fetch(`${stack.url}${API}/gzip`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-encoding')).toBeNull()
    expect(head.headers.get('content-length')).toBeNull()
  })

  it('leaves non-JSON bodies untouched', async () => {
    expect(await (await fetch(`${stack.url}${API}/text`)).text()).toBe(body)
  })

  it('uses PROXY_PUBLIC_URL when set', async () => {
    const other = await startStack({ env: { CXONE_API_URL: upstream.url, PROXY_PUBLIC_URL: 'http://dashboard-sidecar:8080' } })
    try {
      const json = await (await fetch(`${other.url}${API}/plain`, { headers: { host: 'dashboard-sidecar:8080' } })).json() as { _links: { next: string } }
      expect(json._links.next).toBe(`http://dashboard-sidecar:8080${API}/skills/activity?skip=2`)
    } finally {
      await other.close()
    }
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startDeadApiStack, startStack, type Stack } from './helpers/harness.js'
import { runProcess } from './helpers/run-process.js'

interface CurlAnswer {
  exit: number | null
  status: number
  headers: Record<string, string>
  body: string
}

/** Real curl, headers dumped to stdout ahead of the body (-D -); never through an environment proxy. */
async function curl (url: string, ...extra: string[]): Promise<CurlAnswer> {
  const result = await runProcess('curl', ['-sS', '--noproxy', '*', '-D', '-', ...extra, url])
  const split = result.stdout.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = result.stdout.slice(0, split).split('\r\n')
  return {
    exit: result.code,
    status: Number(statusLine.split(' ')[1]),
    headers: Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])),
    body: result.stdout.slice(split + 4)
  }
}

describe('curl through the proxy', () => {
  let stack: Stack
  beforeAll(async () => {
    const probe = await runProcess('curl', ['--version'])
    if (probe.code !== 0) throw new Error('curl is not installed (run .ci/run, or apt-get install curl)')
    stack = await startStack()
  })
  afterAll(async () => { await stack.close() })

  it('answers JSON with no credentials, with _links rewritten to the proxy; the next link works with curl too', async () => {
    const first = await curl(`${stack.url}${API}/skills/activity?top=4`, '-H', 'X-Request-Id: curl-test-1')
    expect(first.exit).toBe(0)
    expect(first.status).toBe(200)
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(first.headers['x-request-id']).toBe('curl-test-1')
    const page = JSON.parse(first.body) as { totalRecords: number, _links: { self: string, next: string | null }, skillActivity: Array<{ skillId: number }> }
    expect(page.totalRecords).toBe(6)
    expect(page.skillActivity.map((s) => s.skillId)).toEqual([4001, 4002, 4003, 4004])
    expect(page._links.next).toBe(`${stack.url}${API}/skills/activity?top=4&skip=4`)

    const second = await curl(page._links.next as string)
    expect(second.status).toBe(200)
    const rest = JSON.parse(second.body) as { _links: { next: string | null }, skillActivity: Array<{ skillId: number }> }
    expect(rest.skillActivity.map((s) => s.skillId)).toEqual([4005, 4006])
    expect(rest._links.next).toBeNull()

    const seen = stack.sim.apiRequests.filter((r) => r.url.includes('/skills/activity'))
    expect(seen.map((r) => r.url)).toEqual([`${API}/skills/activity?top=4`, `${API}/skills/activity?top=4&skip=4`])
    expect(seen[0]?.headers['x-request-id']).toBe('curl-test-1')
    for (const r of seen) expect(r.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
  })

  it('answers the proxy\'s own 404 with its JSON error and Proxy-Status', async () => {
    const res = await curl(`${stack.url}/_proxy/nothing`)
    expect(res.status).toBe(404)
    expect(res.headers['proxy-status']).toBe('cxone-auth-proxy; error=http_request_error; details="not_found"')
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'not_found', message: 'no such proxy endpoint: use /_proxy/healthz, /_proxy/readyz or /_proxy/metrics' }
    })
  })
})

describe('curl when the CXone API cannot be reached', () => {
  let stack: Stack & { deadOrigin: string }
  beforeAll(async () => { stack = await startDeadApiStack() })
  afterAll(async () => { await stack.close() })

  it('gets 502 destination_unavailable with Proxy-Status naming the refused connection', async () => {
    const res = await curl(`${stack.url}${API}/skills/activity`)
    expect(res.exit).toBe(0)
    expect(res.status).toBe(502)
    expect(res.headers['proxy-status']).toBe('cxone-auth-proxy; error=connection_refused; details="destination_unavailable"')
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'destination_unavailable', message: `the CXone API at ${stack.deadOrigin} refused the connection` }
    })
  })

  it('makes `curl --fail-with-body` exit 22 and still print the error body, for shell scripts', async () => {
    const res = await curl(`${stack.url}${API}/skills/activity`, '--fail-with-body')
    expect(res.exit).toBe(22)
    expect(res.status).toBe(502)
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'destination_unavailable' } })
  })
})

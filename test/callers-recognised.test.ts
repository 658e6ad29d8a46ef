import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { KEYS, requestLines, startCallers, type CallerStack } from './helpers/callers.js'

const run = promisify(execFile)
const PATH = `${API}/skills/activity`

/** Python `requests` and `httpx` calling the proxy with a key (or none): the status each gets. */
const PY = `
import sys, requests, httpx
url, key = sys.argv[1], sys.argv[2]
h = {'X-Proxy-Key': key} if key else {}
print(requests.get(url, headers=h).status_code, httpx.get(url, headers=h).status_code)
`

describe('named callers are recognised by their key, and nobody else gets in', () => {
  let s: CallerStack
  beforeAll(async () => { s = await startCallers({ callers: { wallboard: {}, agent: { readOnly: true }, export: {} } }) })
  afterAll(async () => { await s.close() })

  it('fetch: each caller by its own key; no key and a wrong key are refused with 401 proxy_auth_required', async () => {
    for (const key of [KEYS.wallboard, KEYS.agent]) {
      const res = await fetch(`${s.url}${PATH}`, { headers: { 'x-proxy-key': key } })
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }
    const seen = s.api.seen.length
    for (const headers of [{}, { 'x-proxy-key': 'not-a-key-of-anyone' }] as Array<Record<string, string>>) {
      const res = await fetch(`${s.url}${PATH}`, { headers })
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('proxy_auth_required')
    }
    expect(s.api.seen.length).toBe(seen)
    const lines = requestLines(s).slice(-4)
    expect(lines.map((l) => [l.caller, l.status])).toEqual([['wallboard', 200], ['agent', 200], ['_unidentified', 401], ['_unidentified', 401]])
    expect(JSON.stringify(s.stack.logs.entries)).not.toContain(KEYS.wallboard)
  })

  it('curl: by its key, refused without it', async () => {
    const code = async (...args: string[]): Promise<string> => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args, `${s.url}${PATH}`])).stdout
    expect(await code('-H', `X-Proxy-Key: ${KEYS.export}`)).toBe('200')
    expect(await code()).toBe('401')
    expect(requestLines(s).at(-2)?.caller).toBe('export')
  })

  it('Python requests and httpx: by its key, refused without it', async () => {
    const py = async (key: string): Promise<string> => (await run('/usr/bin/python3', ['-c', PY, `${s.url}${PATH}`, key])).stdout.trim()
    expect(await py(KEYS.agent)).toBe('200 200')
    expect(await py('')).toBe('401 401')
  })
})

describe('without callers', () => {
  it('a loopback call with no key is forwarded as before, and the request line has no caller', async () => {
    const s = await startCallers({})
    try {
      const res = await fetch(`${s.url}${PATH}`)
      expect(res.status).toBe(200)
      await res.arrayBuffer()
      expect(requestLines(s).at(-1)).not.toHaveProperty('caller')
    } finally {
      await s.close()
    }
  })
})

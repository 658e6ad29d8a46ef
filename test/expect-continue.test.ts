import { request } from 'node:http'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startApiStack, type Stack } from './helpers/harness.js'
import type { Upstream } from './helpers/upstream.js'

const run = promisify(execFile)

describe('uploads with Expect: 100-continue (curl sends it for large bodies)', () => {
  let api: Upstream
  let stack: Stack
  beforeAll(async () => {
    const s = await startApiStack()
    stack = s
    api = s.api
  })
  afterAll(async () => { await stack.close() })

  it('a client that waits for 100 Continue gets its body forwarded and the API\'s answer', async () => {
    const body = randomBytes(3000)
    const answer = await new Promise<{ status: number, text: string }>((resolve, reject) => {
      const req = request(`${stack.url}${API}/upload`, { method: 'POST', headers: { expect: '100-continue', 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
        let text = ''
        res.on('data', (d: Buffer) => { text += d.toString() })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, text }) })
      })
      req.on('continue', () => { req.end(body) })
      req.on('error', reject)
    })
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.text)).toMatchObject({ bodyLength: 3000 })
    expect(api.seen.at(-1)?.headers.expect).toBeUndefined()
  })

  it('curl with a 2 MiB body', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxone-expect-'))
    writeFileSync(join(dir, 'big'), randomBytes(2 * 1024 * 1024))
    const r = await run('curl', ['-sS', '--noproxy', '*', '-H', 'Expect: 100-continue', '-H', 'content-type: application/octet-stream', '--data-binary', `@${join(dir, 'big')}`, `${stack.url}${API}/upload`])
    expect(JSON.parse(r.stdout)).toMatchObject({ bodyLength: 2 * 1024 * 1024 })
  })
})

import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDeadApiStack, type Stack } from './helpers/harness.js'
import { runProcess } from './helpers/run-process.js'

/**
 * docs/migrating.md shows how a job prints the proxy's error instead of raise_for_status()'s bare "502 Bad Gateway"
 * (issue 25). The snippet runs as written, with python3 and requests, against a proxy whose API is unreachable.
 */
const doc = readFileSync('docs/migrating.md', 'utf8')
const at = doc.indexOf('`raise_for_status()` alone prints only')
const snippet = doc.slice(doc.indexOf('```python\n', at) + '```python\n'.length, doc.indexOf('```', doc.indexOf('```python\n', at) + 10))

describe('docs/migrating.md: printing the proxy\'s error', () => {
  let stack: Stack
  beforeAll(async () => { stack = await startDeadApiStack() })
  afterAll(async () => { await stack.close() })

  it('the snippet exits with the code and the message that names the fix', async () => {
    expect(snippet).toContain('def get(path, **params):')
    const program = `import requests\nAPI = ${JSON.stringify(`${stack.url}/inContactAPI/services/v31.0`)}\n${snippet}\nget("/skills/activity")\n`
    const r = await runProcess('python3', ['-c', program], { NO_PROXY: '127.0.0.1' })
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^cxone-auth-proxy answered 502 destination_unavailable: the CXone API at http:\/\/127\.0\.0\.1:\d+ refused the connection$/)
  })
})

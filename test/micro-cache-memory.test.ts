import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'
import { entrySize, MicroCache } from '../src/quota/micro-cache.js'
import type { WholeResponse } from '../src/quota/coalesce.js'
import { runProcess } from './helpers/run-process.js'

// Issue 24 #2: PROXY_CACHE_MAX_BYTES must bound what the cache really holds. 6,000 distinct long URLs (up to the
// 16 KiB header limit) with 2-byte answers took about 30 times the bound when only bodies were counted.

const dir = mkdtempSync(join(tmpdir(), 'cache-memory-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

const ENTRIES = 6000
const URL_CHARS = 14_000
const BOUND = 4 * 1024 * 1024

/**
 * Run in a child process of its own (node --expose-gc), so that nothing else's garbage is measured: fills a cache
 * bounded at BOUND with the load, and prints the memory it added, measured after a full collection.
 */
const script = `
import { MicroCache } from ${JSON.stringify(resolve('src/quota/micro-cache.ts'))}
const clock = { now: Date.now, monotonic: () => performance.now(), setTimeout: () => 0, clearTimeout: () => {} }
const used = () => { globalThis.gc(); globalThis.gc(); const m = process.memoryUsage(); return m.heapUsed + m.external + m.arrayBuffers }
const cache = new MicroCache({ rules: [], maxBytes: ${BOUND}, clock })
const source = { origin: 'http://127.0.0.1:1', hosts: {} }
const before = used()
for (let i = 0; i < ${ENTRIES}; i++) {
  // Each key built afresh, as each request's URL is: no string shared between entries.
  const key = 'http://127.0.0.1:1\\nGET\\n/inContactAPI/services/v31.0/skills/activity?q=' + String(i).padStart(6, '0') + 'x'.repeat(${URL_CHARS}).split('').join('') + '\\napplication/json\\ngzip\\ntenant'
  cache.set(key, { statusCode: 200, headers: { 'content-type': 'application/json', 'content-length': '2' }, body: Buffer.from('{}'), source }, { ttlMs: 60000, respectCacheControl: false })
}
console.log(JSON.stringify({ added: used() - before, counted: cache.bytes }))
`

describe('the micro-cache counts what an entry really holds', () => {
  it('6,000 distinct long URLs with 2-byte answers keep memory near PROXY_CACHE_MAX_BYTES', async () => {
    const entry = join(dir, 'fill.ts')
    writeFileSync(entry, script)
    const out = join(dir, 'fill.mjs')
    await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'silent' })
    const r = await runProcess(process.execPath, ['--expose-gc', out], {}, 60_000)
    expect(r.stderr).toBe('')
    const { added, counted } = JSON.parse(r.stdout) as { added: number, counted: number }
    expect(counted).toBeLessThanOrEqual(BOUND)
    // What was really added stays near the bound (a little slack for the cache's own structures), not 20 times it.
    expect(added).toBeLessThan(1.5 * BOUND)
  }, 90_000)

  it('counts an entry at least at its key, headers and body', () => {
    const cache = new MicroCache({ rules: [], maxBytes: 10 * 1024 * 1024, clock: { now: Date.now, monotonic: () => performance.now(), setTimeout: () => 0, clearTimeout: () => {} } })
    const key = `GET\n/x?${'q'.repeat(16_000)}`
    const response: WholeResponse = { statusCode: 200, headers: { 'content-type': 'application/json', vary: 'accept-language' }, body: Buffer.from('{}'), source: { origin: 'http://a', hosts: {} as WholeResponse['source']['hosts'] } }
    expect(cache.set(key, response, { ttlMs: 1000, respectCacheControl: false }, { 'accept-language': 'en' })).toBe(true)
    expect(cache.bytes).toBe(entrySize(key, response, 'en'))
    expect(cache.bytes).toBeGreaterThan(key.length + 2)
  })
})

import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version

describe('the bundle\'s V8 code cache (issue 26)', () => {
  const root = mkdtempSync(join(tmpdir(), 'code-cache-'))
  const dist = join(root, 'dist')
  cpSync('dist', dist, { recursive: true, filter: (src) => !src.endsWith('.cache') })
  cpSync('package.json', join(root, 'package.json'))
  afterAll(() => { rmSync(root, { recursive: true, force: true }) })
  const caches = (): string[] => readdirSync(dist).filter((f) => f.endsWith('.cache'))
  // A V8 flag of its own: no other run shares this cache.
  const run = (): string => execFileSync(process.execPath, ['--stack-size=900', join(dist, 'main.js'), '--version'], { encoding: 'utf8' }).trim()

  it('is written beside the bundle by a start that found none, and named after the node version and flags', () => {
    expect(caches()).toEqual([])
    expect(run()).toBe(version)
    expect(caches()).toHaveLength(1)
    expect(execFileSync(process.execPath, [join(dist, 'main.js'), '--version'], { encoding: 'utf8' }).trim()).toBe(version)
    expect(caches()).toHaveLength(2)
  })

  it('one that does not match (another node, corrupted) is rejected by V8: the start goes on and writes a good one', () => {
    const garbage = Buffer.alloc(4096, 7)
    for (const f of caches()) writeFileSync(join(dist, f), garbage)
    expect(run()).toBe(version)
    expect(execFileSync(process.execPath, [join(dist, 'main.js'), '--version'], { encoding: 'utf8' }).trim()).toBe(version)
    for (const f of caches()) {
      const rewritten = readFileSync(join(dist, f))
      expect(rewritten.equals(garbage)).toBe(false)
      expect(rewritten.length).toBeGreaterThan(100_000)
    }
  })
})

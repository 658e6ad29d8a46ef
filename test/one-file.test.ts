import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const text = (file: string): string => readFileSync(file, 'utf8')
/** scripts/node-flags.mjs's NODE_FLAGS, read as text (it is not TypeScript). */
const NODE_FLAGS = JSON.parse((/NODE_FLAGS = (\[[^\]]*\])/.exec(text('scripts/node-flags.mjs'))?.[1] ?? '[]').replaceAll("'", '"')) as string[]

describe('one file to run (issue 26)', () => {
  it('the bin, the npm scripts and the image start node with the same memory settings', () => {
    expect(NODE_FLAGS).toEqual(['--max-semi-space-size=4', '--expose-gc'])
    const shebang = text('dist/main.js').split('\n', 1)[0]
    expect(shebang).toBe(`#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node ${NODE_FLAGS.join(' ')}`)
    const scripts = (JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts
    for (const verb of ['start', 'demo', 'check']) expect(scripts[verb]).toBe(`node ${NODE_FLAGS.join(' ')} --import ./scripts/build.mjs dist/main.js ${verb}`)
    const dockerfile = text('Dockerfile')
    expect(dockerfile).toContain('MALLOC_ARENA_MAX=2')
    expect(dockerfile).toContain(`NODE_OPTIONS="${NODE_FLAGS.join(' ')}"`)
  })

  it('the packed tarball lists no dependency, and a global install of it fetches nothing and runs', () => {
    const out = execFileSync(process.execPath, ['scripts/package.mjs'], { encoding: 'utf8' }).split('\n')[0] as string
    const prefix = mkdtempSync(join(tmpdir(), 'one-file-'))
    try {
      // --offline: a dependency to resolve would fail the install instead of reaching the registry.
      execFileSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, out], { encoding: 'utf8', stdio: 'pipe' })
      const installed = join(prefix, 'lib', 'node_modules', 'cxone-auth-proxy')
      const pkg = JSON.parse(text(join(installed, 'package.json'))) as Record<string, unknown>
      expect(pkg.dependencies).toBeUndefined()
      expect(pkg.devDependencies).toBeUndefined()
      expect(existsSync(join(installed, 'node_modules'))).toBe(false)
      expect(existsSync(join(installed, 'dist', 'proxy.cjs'))).toBe(true)
      const version = (JSON.parse(text('package.json')) as { version: string }).version
      expect(execFileSync(process.execPath, [join(installed, 'dist', 'main.js'), '--version'], { encoding: 'utf8' }).trim()).toBe(version)
    } finally {
      rmSync(prefix, { recursive: true, force: true })
      rmSync(out, { force: true })
    }
  }, 60_000)
})

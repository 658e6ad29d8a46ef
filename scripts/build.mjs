#!/usr/bin/env node
// Compiles src/ to dist/ only when something tsc reads changed since the last build (issue 16: every
// `npm start` used to recompile for ~7 s). `--force` always compiles. `npm start`, `npm run demo` and
// `npm run check` load it with `node --import` in front of dist/main.js: one process, no compiler when fresh. A stamp, dist/.buildstamp, lists the
// sources it was built from: a newer input, or a source added or removed, makes the build stale.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const STAMP = join('dist', '.buildstamp')
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json']

function sources (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? sources(join(dir, e.name)) : [join(dir, e.name)])
}

function staleBecause (files) {
  if (!existsSync(STAMP)) return 'no build yet'
  const built = statSync(STAMP).mtimeMs
  if (readFileSync(STAMP, 'utf8') !== files.join('\n')) return 'sources added or removed'
  const newer = [...files, ...CONFIGS].find((f) => statSync(f).mtimeMs > built)
  return newer === undefined ? undefined : `${newer} changed`
}

const files = sources('src').sort()
const reason = process.argv.includes('--force') ? 'forced' : staleBecause(files)
if (reason !== undefined) {
  if (reason !== 'no build yet') rmSync('dist', { recursive: true, force: true })
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  process.stderr.write(`cxone-auth-proxy: compiling src/ to dist/ (${reason})\n`)
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
  writeFileSync(STAMP, files.join('\n'))
}

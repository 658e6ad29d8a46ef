#!/usr/bin/env node
// Writes cxone-auth-proxy-<version>.tgz, the package to install with
// `npm install -g ./cxone-auth-proxy-<version>.tgz`. The name is not on the npm registry, so nothing here asks it.
// Packed from a staging folder so the package carries only what runs outside the repository: dist/, the
// committed config, the docs, a package.json whose scripts are start/demo/check only (no build hooks that
// need the sources), and the lockfile as npm-shrinkwrap.json so the dependencies are the tested ones.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const stage = mkdtempSync(join(tmpdir(), 'cxone-auth-proxy-package-'))
try {
  for (const entry of pkg.files) cpSync(entry, join(stage, entry), { recursive: true })
  rmSync(join(stage, 'dist', '.buildstamp'), { force: true })
  cpSync('LICENSE', join(stage, 'LICENSE'))
  const runtimeScripts = Object.fromEntries(['start', 'demo', 'check'].map((name) => [name, `node dist/main.js ${name}`]))
  const files = [...pkg.files, 'npm-shrinkwrap.json']
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...pkg, files, scripts: runtimeScripts }, null, 2)}\n`)
  cpSync('package-lock.json', join(stage, 'npm-shrinkwrap.json'))
  const out = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', stage], { cwd: stage, encoding: 'utf8' }).trim().split('\n').at(-1)
  const target = resolve(out)
  renameSync(join(stage, out), target)
  process.stdout.write(`${target}\ninstall it with: npm install -g ./${out}\n`)
} finally {
  rmSync(stage, { recursive: true, force: true })
}

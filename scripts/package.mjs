#!/usr/bin/env node
// Writes cxone-auth-proxy-<version>.tgz, the package to install with
// `npm install -g ./cxone-auth-proxy-<version>.tgz`. The name is not on the npm registry, so nothing here asks it.
// Packed from a staging folder so the package carries only what runs outside the repository: the bundle (dist/,
// every dependency inside it: issue 26), the committed config, the docs, and a package.json with no dependencies
// and no build hooks, whose scripts are start/demo/check only. An install resolves nothing and runs exactly the
// bundle CI tested. The code cache is left out: V8 accepts it only from the same node binary and flags, so the
// first start writes one beside the bundle (when the install folder is writable).
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { NODE_FLAGS } from './node-flags.mjs'

/** What the installed package.json keeps of the repository's: no dependencies, no dev tooling. */
const KEPT = ['name', 'version', 'description', 'license', 'type', 'bin', 'files', 'engines']

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const stage = mkdtempSync(join(tmpdir(), 'cxone-auth-proxy-package-'))
try {
  for (const entry of pkg.files) cpSync(entry, join(stage, entry), { recursive: true, filter: (src) => !/\.buildstamp$|\.cache$/.test(src) })
  cpSync('LICENSE', join(stage, 'LICENSE'))
  const runtimeScripts = Object.fromEntries(['start', 'demo', 'check'].map((name) => [name, `node ${NODE_FLAGS.join(' ')} dist/main.js ${name}`]))
  const installed = { ...Object.fromEntries(KEPT.filter((k) => k in pkg).map((k) => [k, pkg[k]])), scripts: runtimeScripts }
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(installed, null, 2)}\n`)
  const out = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', stage], { cwd: stage, encoding: 'utf8' }).trim().split('\n').at(-1)
  const target = resolve(out)
  renameSync(join(stage, out), target)
  process.stdout.write(`${target}\ninstall it with: npm install -g ./${out}\n`)
} finally {
  rmSync(stage, { recursive: true, force: true })
}

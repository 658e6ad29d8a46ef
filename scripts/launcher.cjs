#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 --expose-gc
'use strict'
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: node's CommonJS loader starts faster than its ES module one */
// dist/main.js (issue 26): runs the bundle, dist/proxy.cjs, through vm.Script with a V8 code cache beside it, so a
// start deserialises compiled code instead of parsing and compiling 2 MB of JavaScript (Node 20 has no
// module.enableCompileCache). V8 rejects a cache made by another V8, with other flags or for another source: the
// bundle is then compiled as usual, and a new cache written once the start's code has run (or at exit), if dist/ is
// writable. One cache per node version and flags, so that two ways of starting do not overwrite each other's.
// The shebang's settings: docs/performance.md "Memory".
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs')
const { createRequire } = require('node:module')
const { join } = require('node:path')
const vm = require('node:vm')

const BUNDLE = join(__dirname, 'proxy.cjs')

/** FNV-1a, 32 bits: names the cache after what V8 checks it against (node:crypto would cost a module load). */
function fnv1a (text) {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}

const CACHE = `${BUNDLE}.${fnv1a([process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? ''].join('\n'))}.cache`
/** Time for a start to listen and take its token: what it compiled by then is what the next start needs. */
const WRITE_AFTER_MS = 2000

function cached () {
  try { return readFileSync(CACHE) } catch { return undefined }
}

function writeCacheOnce (script) {
  let written = false
  return () => {
    if (written) return
    written = true
    const tmp = `${CACHE}.${process.pid}`
    try {
      writeFileSync(tmp, script.createCachedData())
      renameSync(tmp, CACHE)
    } catch {
      // Read-only: every start compiles, as without a cache.
      try { rmSync(tmp, { force: true }) } catch { /* nothing to remove */ }
    }
  }
}

const cachedData = cached()
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(BUNDLE, 'utf8')}\n})`, {
  filename: BUNDLE,
  cachedData,
  importModuleDynamically: vm.constants === undefined ? undefined : vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
})
if (cachedData === undefined || script.cachedDataRejected === true) {
  const write = writeCacheOnce(script)
  setTimeout(write, WRITE_AFTER_MS).unref()
  process.once('exit', write)
}
const bundled = { exports: {} }
script.runInThisContext()(bundled.exports, createRequire(BUNDLE), bundled, BUNDLE, __dirname)

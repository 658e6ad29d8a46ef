#!/usr/bin/env node
// Bundles src/ and its dependencies into dist/ with esbuild (issue 26): what the bin, `npm start`, the image and the
// packed tarball run, with nothing left to resolve at install. Rebuilds only when an input changed since the last
// build (issue 16); `--force` always builds. `npm start`, `npm run demo` and `npm run check` load it with
// `node --import` in front of dist/main.js. A stamp, dist/.buildstamp, lists the inputs: a newer one, or a source added
// or removed, makes the build stale.
//
// dist/main.js      the launcher (scripts/launcher.cjs): runs proxy.cjs through vm.Script with a V8 code cache
// dist/proxy.cjs    src/main.ts and every dependency, minified (whitespace, syntax), CommonJS (vm.Script compiles scripts, not modules)
// dist/redis.cjs    @redis/client, required only in fleet mode (REDIS_URL)
// dist/proxy.cjs.cache  the code cache, written by one run of the launcher here (and again on a start whose node
//                   binary or flags do not match it)
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const STAMP = join('dist', '.buildstamp')
const CONFIGS = ['package.json', 'package-lock.json', 'scripts/build.mjs', 'scripts/launcher.cjs', 'scripts/node-flags.mjs']

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

/**
 * `src/main.ts` may await at its top level (an ES module); a CommonJS bundle cannot, so its body after the imports
 * runs in an async function. Unhandled, a rejection still ends the process, as it would at the top level.
 */
const mainWithoutTopLevelAwait = {
  name: 'main-without-top-level-await',
  setup (b) {
    b.onLoad({ filter: /[\\/]src[\\/]main\.ts$/ }, ({ path }) => {
      const text = readFileSync(path, 'utf8')
      const imports = /^import\s[\s\S]*?from\s*['"][^'"]+['"];?[ \t]*$|^import\s*['"][^'"]+['"];?[ \t]*$/gm
      const head = (text.match(imports) ?? []).join('\n')
      const body = text.replace(imports, '').replace(/^#!.*\n/, '')
      return { contents: `${head}\n;(async () => {\n${body}\n})().catch((err) => { throw err })\n`, loader: 'ts', resolveDir: join(path, '..') }
    })
  }
}

/** @redis/client (a fifth of the bundle) stays out of it: src/token/fleet loads it only when REDIS_URL is set. */
const redisApart = {
  name: 'redis-apart',
  setup (b) {
    b.onResolve({ filter: /^@redis\/client$/ }, () => ({ path: './redis.cjs', external: true }))
  }
}

/**
 * undici's cookie helpers (unused here) check their argument against the platform's Headers too, and reading
 * globalThis.Headers at load time loads Node's own copy of undici (~20 ms of CPU per start). The same check,
 * made on first use.
 */
const UNDICI_COOKIES_EAGER = 'const brandChecks = webidl.brandCheckMultiple([Headers, globalThis.Headers].filter(Boolean))'
const UNDICI_COOKIES_LAZY = 'let brandCheckList\nconst brandChecks = (V) => (brandCheckList ??= webidl.brandCheckMultiple([Headers, globalThis.Headers].filter(Boolean)))(V)'
const undiciCookiesLazy = {
  name: 'undici-cookies-lazy',
  setup (b) {
    b.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]web[\\/]cookies[\\/]index\.js$/ }, ({ path }) => {
      const text = readFileSync(path, 'utf8')
      if (!text.includes(UNDICI_COOKIES_EAGER)) return { contents: text, warnings: [{ text: `${path}: its Headers check changed; it is bundled as it is (a start loads Node's own undici)` }] }
      return { contents: text.replace(UNDICI_COOKIES_EAGER, UNDICI_COOKIES_LAZY), loader: 'js' }
    })
  }
}

/**
 * ws (through @fastify/http-proxy) tries to require its optional native helpers at load; the bundle has neither,
 * and each failed require walks node_modules and builds an error. ws's own switches say so at build time.
 */
const WS_WITHOUT_NATIVE_HELPERS = { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' }

/**
 * Whitespace and syntax only: renaming identifiers would need keepNames for the names logs and Fastify show
 * (an error's constructor, a plugin's function), and keepNames wraps every function created, per request too
 * (measured: +25 µs of CPU per request).
 */
async function bundle () {
  const { build } = await import('esbuild')
  // `--sourcemap` (bench/profile.mjs) writes dist/proxy.cjs.map, so a CPU profile names the source file of each frame.
  const common = { bundle: true, platform: 'node', target: 'node20.18', format: 'cjs', minifyWhitespace: true, minifySyntax: true, legalComments: 'none', logLevel: 'warning', ...(process.argv.includes('--sourcemap') ? { sourcemap: 'external' } : {}) }
  await build({
    ...common,
    entryPoints: ['src/main.ts'],
    outfile: 'dist/proxy.cjs',
    plugins: [mainWithoutTopLevelAwait, redisApart, undiciCookiesLazy],
    // src/runtime/cli.ts reads ../../package.json from its own URL: the bundle answers as if it were dist/runtime/cli.js.
    define: { 'import.meta.url': '__cxoneCliUrl', ...WS_WITHOUT_NATIVE_HELPERS },
    banner: { js: 'var __cxoneCliUrl=require("node:url").pathToFileURL(__dirname+"/runtime/cli.js").href;' }
  })
  await build({ ...common, entryPoints: ['node_modules/@redis/client/dist/index.js'], outfile: 'dist/redis.cjs' })
  copyFileSync('scripts/launcher.cjs', 'dist/main.js')
  // dist/ is CommonJS whatever the package's "type": the launcher is loaded by node's CommonJS loader (faster).
  writeFileSync('dist/package.json', '{ "type": "commonjs" }\n')
}

const files = sources('src').sort()
const reason = process.argv.includes('--force') ? 'forced' : staleBecause(files)
if (reason !== undefined) {
  rmSync('dist', { recursive: true, force: true })
  mkdirSync('dist')
  process.stderr.write(`cxone-auth-proxy: bundling src/ to dist/ (${reason})\n`)
  await bundle()
  // One run writes the code cache, with the flags the bin and the scripts run it with.
  const { NODE_FLAGS } = await import('./node-flags.mjs')
  execFileSync(process.execPath, [...NODE_FLAGS, 'dist/main.js', '--version'], { stdio: 'ignore' })
  writeFileSync(STAMP, files.join('\n'))
}

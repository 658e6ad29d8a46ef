// Aggregates a V8 .cpuprofile (node --cpu-prof) by function and by module: self time, and inclusive time.
// Usage: node bench/cpuprofile-summary.mjs FILE.cpuprofile [--top N]
import { existsSync, readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * With dist/proxy.cjs.map beside the bundle (`node scripts/build.mjs --force --sourcemap`), a frame of the bundle
 * is named by the source it came from: src/proxy/send.ts, or node_modules/undici/lib/....
 */
function withSourceMaps (profile) {
  const maps = new Map()
  const mapFor = (url) => {
    if (!maps.has(url)) {
      let path
      try { path = url.startsWith('file:') ? fileURLToPath(url) : url } catch { path = url }
      maps.set(url, existsSync(`${path}.map`) ? { map: new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))), dir: path.replace(/[^/]+$/, '') } : null)
    }
    return maps.get(url)
  }
  for (const n of profile.nodes) {
    const f = n.callFrame
    if (!/\/dist\/[^/]+\.cjs$/.test(f.url)) continue
    const m = mapFor(f.url)
    if (m === null) continue
    const e = m.map.findEntry(f.lineNumber, f.columnNumber)
    if (e?.originalSource === undefined) continue
    const source = e.originalSource.replace(/^(\.\.\/)+/, '/')
    n.callFrame = { ...f, url: source.includes('node_modules/') ? source : source.replace(/^.*?\/(src\/)/, '/$1'), lineNumber: e.originalLine, columnNumber: e.originalColumn }
  }
  return profile
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)'])

/** The module a frame belongs to: an npm package, a node: internal area, the proxy's own file, or V8. */
export function moduleOf (frame) {
  const url = frame.url
  if (url === '') return SPECIAL.has(frame.functionName) ? frame.functionName : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (pkg !== null) return pkg[1]
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/')
    return `node:${parts[0] === 'internal' && parts.length > 2 ? `internal/${parts[1]}` : parts.join('/')}`
  }
  const own = /\/(dist|bench|src)\/(.+)$/.exec(url)
  return own !== null ? `proxy ${own[1]}/${own[2]}` : url
}

function shortUrl (url) {
  const pkg = /node_modules\/(.+)$/.exec(url)
  if (pkg !== null) return pkg[1]
  const own = /\/((dist|src)\/.+)$/.exec(url)
  return own !== null ? own[1] : url
}

function functionKey (frame) {
  if (frame.url === '') return frame.functionName || '(anonymous native)'
  return `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
}

/** Self and inclusive microseconds per function and per module; idle time is counted apart. */
export function summarise (profile) {
  withSourceMaps(profile)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfFn = new Map()
  const selfMod = new Map()
  const inclFn = new Map()
  let total = 0
  let idle = 0
  const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us)
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0
    const node = byId.get(profile.samples[i])
    if (node === undefined) continue
    if (node.callFrame.functionName === '(idle)') { idle += us; continue }
    total += us
    add(selfFn, functionKey(node.callFrame), us)
    add(selfMod, moduleOf(node.callFrame), us)
    const seen = new Set()
    // Bounded by the profile's depth: each step goes to a parent, and the root has none.
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id).callFrame
      if (SPECIAL.has(frame.functionName)) continue
      const key = functionKey(frame)
      if (!seen.has(key)) { seen.add(key); add(inclFn, key, us) }
    }
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, pct: 100 * us / total }))
  return { busyMs: total / 1000, idleMs: idle / 1000, selfByFunction: sorted(selfFn), selfByModule: sorted(selfMod), inclusiveByFunction: sorted(inclFn) }
}

export function formatSummary (s, top = 25) {
  const rows = (list) => list.slice(0, top).map((r) => `  ${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`).join('\n')
  return [
    `busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms (percentages are of busy time)`,
    '\nself time by module:', rows(s.selfByModule),
    `\nself time by function (top ${top}):`, rows(s.selfByFunction),
    `\ninclusive time by function (top ${top}):`, rows(s.inclusiveByFunction)
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2]
  if (file === undefined) {
    console.error('usage: node bench/cpuprofile-summary.mjs FILE.cpuprofile [--top N]')
    process.exit(2)
  }
  const i = process.argv.indexOf('--top')
  const top = i > 0 ? Number(process.argv[i + 1]) : 25
  console.log(formatSummary(summarise(JSON.parse(readFileSync(file, 'utf8'))), top))
}

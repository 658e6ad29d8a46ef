#!/usr/bin/env node
// Finds the exports of src/ that nothing uses (`npm run lint:exports`), with the TypeScript compiler already in
// devDependencies. A consumer is any file of tsconfig.json's program (src, test, bench). Re-exports are followed; a
// namespace or dynamic import counts as using every export of its module. An export that no other file imports but
// its own file uses (an options type, a constant) is allowed, as knip's ignoreExportsUsedInFile does; `--all` lists
// those too. Exit 1 when an export is used nowhere and is not listed in scripts/unused-exports.allow (one
// `path name` a line, `#` comments): the known ones not removed yet.
import { existsSync, readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { createRequire } from 'node:module'

const ts = createRequire(import.meta.url)('typescript')
const root = resolve(import.meta.dirname, '..')
const ALLOW = resolve(root, 'scripts/unused-exports.allow')

const configFile = ts.readConfigFile(resolve(root, 'tsconfig.json'), ts.sys.readFile)
const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root)
const program = ts.createProgram(parsed.fileNames, parsed.options)
const rel = (f) => relative(root, f).split('\\').join('/')
const ours = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !rel(f.fileName).startsWith('node_modules/'))

/** file → (exported name → line) */
const exported = new Map()
/** file → [{ from, names: Map<exported name, name in from> | '*' }]: what a file re-exports from another */
const reexports = new Map()
/** [file, name] pairs imported somewhere, '*' for all */
const uses = []

function resolveModule (spec, from) {
  const r = ts.resolveModuleName(spec, from, parsed.options, ts.sys).resolvedModule
  return r === undefined || r.isExternalLibraryImport ? undefined : resolve(r.resolvedFileName)
}

function hasExport (node) {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
}

for (const sf of ours) {
  const file = resolve(sf.fileName)
  const names = new Map()
  const line = (node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = resolveModule(node.moduleSpecifier.text, sf.fileName)
      const clause = node.importClause
      if (target !== undefined && clause !== undefined) {
        if (clause.name !== undefined) uses.push([target, 'default'])
        const b = clause.namedBindings
        if (b !== undefined && ts.isNamespaceImport(b)) uses.push([target, '*'])
        if (b !== undefined && ts.isNamedImports(b)) for (const e of b.elements) uses.push([target, (e.propertyName ?? e.name).text])
      }
    } else if (ts.isExportDeclaration(node)) {
      const target = node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier) ? resolveModule(node.moduleSpecifier.text, sf.fileName) : undefined
      if (node.exportClause === undefined) {
        if (target !== undefined) reexports.set(file, [...(reexports.get(file) ?? []), { from: target, names: '*' }])
      } else if (ts.isNamedExports(node.exportClause)) {
        const map = new Map()
        for (const e of node.exportClause.elements) {
          names.set(e.name.text, line(e))
          map.set(e.name.text, (e.propertyName ?? e.name).text)
        }
        if (target !== undefined) reexports.set(file, [...(reexports.get(file) ?? []), { from: target, names: map }])
      }
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0])) {
      const target = resolveModule(node.arguments[0].text, sf.fileName)
      if (target !== undefined) uses.push([target, '*'])
    } else if (hasExport(node) && sf.statements.includes(node)) {
      if (ts.isVariableStatement(node)) {
        for (const d of node.declarationList.declarations) if (ts.isIdentifier(d.name)) names.set(d.name.text, line(d))
      } else if (node.name !== undefined && ts.isIdentifier(node.name)) {
        names.set(node.name.text, line(node))
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  exported.set(file, names)
}

const used = new Map()
function markUsed (file, name) {
  const set = used.get(file) ?? new Set()
  used.set(file, set)
  if (set.has(name)) return
  set.add(name)
  for (const r of reexports.get(file) ?? []) {
    if (r.names === '*') markUsed(r.from, name)
    else if (name === '*') for (const inner of r.names.values()) markUsed(r.from, inner)
    else if (r.names.has(name)) markUsed(r.from, r.names.get(name))
  }
}
for (const [file, name] of uses) markUsed(file, name)

const allowed = new Set(existsSync(ALLOW)
  ? readFileSync(ALLOW, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '')
  : [])
const all = process.argv.includes('--all')
const unused = []
for (const [file, names] of exported) {
  if (!rel(file).startsWith('src/')) continue
  const set = used.get(file) ?? new Set()
  const text = readFileSync(file, 'utf8')
  for (const [name, line] of names) {
    if (set.has(name) || set.has('*')) continue
    const inFile = (text.match(new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`, 'g')) ?? []).length > 1
    if (inFile && !all) continue
    unused.push({ at: `${rel(file)}:${line}`, key: `${rel(file)} ${name}`, name, inFile })
  }
}
const fresh = unused.filter((u) => !u.inFile && !allowed.has(u.key))
for (const u of unused) console.log(`${u.inFile ? '(used in its file) ' : allowed.has(u.key) ? '(allowed) ' : ''}${u.at} ${u.name}`)
const stale = all ? [] : [...allowed].filter((k) => !unused.some((u) => u.key === k))
for (const k of stale) console.log(`scripts/unused-exports.allow: ${k} is used now or gone: remove the line`)
if (fresh.length > 0 || stale.length > 0) {
  console.error(`${fresh.length} unused export(s): remove the export (or the code), or list it in scripts/unused-exports.allow`)
  process.exit(1)
}
console.log(`no unused exports (${unused.length} listed in scripts/unused-exports.allow)`)

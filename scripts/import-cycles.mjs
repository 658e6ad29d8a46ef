#!/usr/bin/env node
// Lists every circular import among the files of src/ (`npm run lint:cycles`), type-only imports and dynamic
// imports included, with the TypeScript compiler already in devDependencies. Exit 1 when there is one: issue 21
// asks for none (a loop of files is a knot a reader has to untie, and the layer rule cannot see one inside a folder).
import { createRequire } from 'node:module'
import { relative, resolve } from 'node:path'

const ts = createRequire(import.meta.url)('typescript')
const root = resolve(import.meta.dirname, '..')
const config = ts.parseJsonConfigFileContent(ts.readConfigFile(resolve(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root)
const rel = (f) => relative(root, f).split('\\').join('/')
const program = ts.createProgram(config.fileNames.filter((f) => rel(f).startsWith('src/')), config.options)

/** file → the files of src/ it imports */
const graph = new Map()
for (const sf of program.getSourceFiles()) {
  const file = rel(sf.fileName)
  if (!file.startsWith('src/')) continue
  const deps = new Set()
  const visit = (node) => {
    const spec = (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)
      ? node.moduleSpecifier.text
      : ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0]) ? node.arguments[0].text : undefined
    if (spec !== undefined) {
      const r = ts.resolveModuleName(spec, sf.fileName, config.options, ts.sys).resolvedModule
      if (r !== undefined && !r.isExternalLibraryImport) deps.add(rel(r.resolvedFileName))
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  graph.set(file, deps)
}

// Tarjan's strongly connected components: each of more than one file is a loop.
let counter = 0
const index = new Map()
const low = new Map()
const stack = []
const onStack = new Set()
const loops = []
function connect (v) {
  index.set(v, counter)
  low.set(v, counter)
  counter++
  stack.push(v)
  onStack.add(v)
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      connect(w)
      low.set(v, Math.min(low.get(v), low.get(w)))
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), index.get(w)))
    }
  }
  if (low.get(v) !== index.get(v)) return
  const component = []
  let w
  do {
    w = stack.pop()
    onStack.delete(w)
    component.push(w)
  } while (w !== v)
  if (component.length > 1) loops.push(component.sort())
}
for (const v of graph.keys()) if (!index.has(v)) connect(v)

if (loops.length > 0) {
  for (const loop of loops) console.log(`import loop: ${loop.join(' ↔ ')}`)
  console.error(`${loops.length} import loop(s) among the files of src/: break each (a type moved down, a decision returned instead of a callback)`)
  process.exit(1)
}
console.log(`no import loops among ${graph.size} files of src/`)

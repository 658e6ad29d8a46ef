// The CXone simulator and its realtime data for the bench, bundled from src/ (dist/ holds only the proxy's bundle,
// where the simulator is reachable through the `demo` verb alone).
import { mkdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OUT = `${ROOT}node_modules/.cache/cxone-bench/`
mkdirSync(OUT, { recursive: true })
await build({
  absWorkingDir: ROOT,
  entryPoints: { simulator: 'src/simulator/simulator.ts', realtime: 'src/simulator/realtime.ts' },
  outdir: OUT,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  logLevel: 'warning'
})
const simulator = await import(pathToFileURL(`${OUT}simulator.mjs`).href)
const realtime = await import(pathToFileURL(`${OUT}realtime.mjs`).href)
export const { CxoneSimulator, DEMO_CREDENTIALS } = simulator
export const { skillActivity } = realtime

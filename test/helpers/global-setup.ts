import { execFileSync } from 'node:child_process'

/** Tests that spawn the CLI run the compiled entry point, as `npm start` and the container do (built when stale). */
export default function setup (): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' })
}

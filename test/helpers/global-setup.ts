import { execFileSync } from 'node:child_process'

/** Tests that spawn the CLI run the compiled entry point, as `npm start` and the container do. */
export default function setup (): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
}

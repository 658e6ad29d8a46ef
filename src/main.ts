#!/usr/bin/env node
import module from 'node:module'

// Node 22.1+ keeps compiled code between starts (a sidecar restarts often: this halves the time to ready);
// Node 20 has no such cache, and nothing happens. The CLI is imported after, so that it is compiled through it.
const cache = (module as { enableCompileCache?: () => unknown }).enableCompileCache
cache?.()
const { runCli } = await import('./runtime/cli.js')

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => { process.stdout.write(`${line}\n`) },
  stderr: (line) => { process.stderr.write(`${line}\n`) }
})
if (code !== undefined) process.exitCode = code

#!/usr/bin/env node
import { runCli } from './runtime/cli.js'

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => { process.stdout.write(`${line}\n`) },
  stderr: (line) => { process.stderr.write(`${line}\n`) }
})
if (code !== undefined) process.exitCode = code

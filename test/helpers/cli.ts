import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

const MAIN = resolve('dist/main.js')

/** The compiled CLI's environment: nothing from the developer's shell but PATH. */
function cleanEnv (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...env }
}

/** Runs the CLI to completion. */
export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<CliResult> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  return await collect(child, timeoutMs)
}

async function collect (child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  return await new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

export interface RunningCli {
  child: ChildProcess
  output: () => string
  /** Resolves with the first stdout/stderr line matching `re`. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<string>
  /** Sends a signal and waits for the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<CliResult>
}

/** Starts a long-running CLI command (start, demo), in `cwd` when given. */
export function startCli (args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): RunningCli {
  const child = spawn(process.execPath, [MAIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], cwd })
  let out = ''
  const listeners = new Set<() => void>()
  const onData = (d: Buffer): void => {
    out += d.toString()
    for (const l of listeners) l()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => { resolve({ code, signal, stdout: out, stderr: '' }) })
  })
  return {
    child,
    output: () => out,
    waitFor: async (re, timeoutMs = 10_000) => await new Promise((resolve, reject) => {
      const check = (): void => {
        const line = out.split('\n').find((l) => re.test(l))
        if (line !== undefined) {
          listeners.delete(check)
          clearTimeout(timer)
          resolve(line)
        }
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`timed out waiting for ${String(re)}; output so far:\n${out}`))
      }, timeoutMs)
      listeners.add(check)
      check()
    }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const result = await done
      clearTimeout(timer)
      return result
    }
  }
}

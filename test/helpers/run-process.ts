import { execFile } from 'node:child_process'
import { createServer } from 'node:net'

export interface ProcessResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a real client (python3, curl) to completion; killed after `timeoutMs` so a hang fails the test. */
export async function runProcess (file: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<ProcessResult> {
  return await new Promise((resolve, reject) => {
    execFile(file, args, {
      // Loopback calls must not detour through a corporate proxy set in the environment.
      env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...env },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 4 * 1024 * 1024
    }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')} did not finish (${err.signal ?? err.code ?? err.message}): ${stderr}`, { cause: err }))
        return
      }
      resolve({ code: err === null ? 0 : err.code as number, stdout, stderr })
    })
  })
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

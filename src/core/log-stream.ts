import { write, writeSync } from 'node:fs'

/** Characters of lines held while the reader is slow; past this they are dropped (and counted), never held without bound. */
export const MAX_PENDING_CHARS = 8 * 1024 * 1024
/** How long a full pipe (EAGAIN) is retried at exit before the last lines are given up. */
export const EXIT_FLUSH_MS = 1_000
const BUSY_RETRY_MS = 10

/**
 * pino's destination for the proxy's log lines: written in order, asynchronously, and flushed synchronously at exit.
 * Unlike sonic-boom (whose exit flush retries EPIPE forever, issue 24), a write that fails for good (EPIPE: the
 * reader is gone; EBADF) ends the stream: the lines are dropped and the process can still exit with its code.
 */
export class LogStream {
  #pending = ''
  #writing = false
  #ended = false
  #dropped = 0
  #drained: Array<() => void> = []

  constructor (private readonly fd: number) {}

  /** True while lines can still reach the reader. */
  get open (): boolean { return !this.#ended }

  write (line: string): boolean {
    if (this.#ended) return false
    if (this.#pending.length + line.length > MAX_PENDING_CHARS) {
      this.#dropped++
      return false
    }
    this.#pending += line
    if (!this.#writing) {
      // The lines of one turn of the event loop go out in one write (under load, one write per many requests).
      this.#writing = true
      setImmediate(this.#kick)
    }
    return true
  }

  readonly #kick = (): void => { this.#next() }

  /** Calls back once what is pending has been written (or can never be). */
  flush (cb?: () => void): void {
    if (cb === undefined) return
    if (this.#pending === '' && !this.#writing) cb()
    else this.#drained.push(cb)
  }

  /** At exit: writes what is pending, waiting on a full pipe at most EXIT_FLUSH_MS, and never on a closed one. */
  flushSync (): void {
    const deadline = performance.now() + EXIT_FLUSH_MS
    // An asynchronous write in flight has taken its bytes; they may still land, before these.
    let buf = Buffer.from(this.#takePending())
    while (buf.length > 0 && !this.#ended) {
      try {
        buf = buf.subarray(writeSync(this.fd, buf))
      } catch (err) {
        if (!isBusy(err) || performance.now() > deadline) { this.#end(); return }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BUSY_RETRY_MS)
      }
    }
  }

  #takePending (): string {
    let out = this.#pending
    if (this.#dropped > 0) {
      out += `${JSON.stringify({ level: 40, time: Date.now(), name: 'cxone-auth-proxy', dropped: this.#dropped, msg: 'log lines dropped: the log reader was too slow' })}\n`
      this.#dropped = 0
    }
    this.#pending = ''
    return out
  }

  #next (): void {
    if (this.#pending === '' && this.#dropped === 0) {
      this.#writing = false
      for (const cb of this.#drained.splice(0)) cb()
      return
    }
    this.#writing = true
    this.#send(Buffer.from(this.#takePending()))
  }

  #send (chunk: Buffer): void {
    write(this.fd, chunk, (err, n) => {
      if (err !== null) {
        if (isBusy(err)) { setTimeout(() => { this.#send(chunk) }, BUSY_RETRY_MS); return }
        this.#end()
        return
      }
      if (n < chunk.length) { this.#send(chunk.subarray(n)); return }
      this.#next()
    })
  }

  #end (): void {
    this.#ended = true
    this.#pending = ''
    this.#writing = false
    for (const cb of this.#drained.splice(0)) cb()
  }
}

function isBusy (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'EAGAIN' || code === 'EBUSY'
}

let stdout: LogStream | undefined

/** The one stream on standard output, whatever the number of loggers; flushed once at exit. */
export function stdoutLogStream (): LogStream {
  if (stdout === undefined) {
    const stream = new LogStream(1)
    process.once('exit', () => { stream.flushSync() })
    stdout = stream
  }
  return stdout
}

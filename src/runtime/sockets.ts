/**
 * Unix domain sockets for a profile and its callers (issue 22): the filesystem's owner, group and mode are the
 * authentication of a caller bound to its socket. Each socket hands its connections to the profile's own http.Server
 * (its 'connection' event), so every limit and timeout of the TCP listener applies unchanged, and tags each with the
 * path it came in on (core/unix-sockets.ts).
 *
 * The mode is in force before anyone can connect: the socket is bound inside a fresh private folder (mkdtemp, 0700)
 * next to its final path, given its mode there, then renamed into place (rename(2) is atomic on one filesystem). A
 * process umask would be process-wide and racy; listen-then-chmod leaves a moment with the umask's mode.
 */
import { lstat, mkdtemp, chmod, rename, rm, stat, unlink } from 'node:fs/promises'
import type { Server as HttpServer } from 'node:http'
import { connect, createServer, type Server } from 'node:net'
import { basename, dirname, join } from 'node:path'
import { MAX_SOCKET_PATH_BYTES } from '../core/caller-fields.js'
import { ConfigError } from '../core/errors.js'
import { tagUnixSocket } from '../core/unix-sockets.js'

/** How long a connect test of an existing socket file may take before it counts as answering (a busy owner). */
export const STALE_PROBE_MS = 1_000

export interface UnixListener {
  readonly path: string
  /** Stops accepting and removes the socket file, if it is still this listener's (never a successor's). */
  close: () => Promise<void>
}

export interface UnixListenOptions {
  path: string
  /** The file's mode, e.g. 0o600 (the default of a caller's `socketMode`). */
  mode: number
  /** Where connections go: the profile's own server. */
  target: HttpServer
  /** Names the socket's owner in messages: `caller "wallboard"`, `profile "bu-two"`. */
  owner: string
}

/** Listens on `path` with `mode`; a stale socket file (nothing answers on it) is replaced, a live one is refused. */
export async function listenUnix (o: UnixListenOptions): Promise<UnixListener> {
  const where = `${o.owner}: socket ${o.path}`
  await clearStale(o.path, where)
  let dir: string
  try {
    dir = await mkdtemp(join(dirname(o.path), `.${basename(o.path)}.`))
  } catch (err) {
    throw new ConfigError(`${where}: its folder ${dirname(o.path)} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'}): create it, writable by the proxy's user, or choose another path`, { cause: err, code: 'listen_failed' })
  }
  const staging = join(dir, 's')
  if (Buffer.byteLength(staging) > MAX_SOCKET_PATH_BYTES) {
    await rm(dir, { recursive: true, force: true })
    throw new ConfigError(`${where}: the path is too long to be bound safely (it is bound as ${staging} first, more than ${MAX_SOCKET_PATH_BYTES} bytes): choose a shorter path`, { code: 'listen_failed' })
  }
  const server = createServer((socket) => {
    tagUnixSocket(socket, o.path)
    o.target.emit('connection', socket)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(staging, () => { server.off('error', reject); resolve() })
    })
    await chmod(staging, o.mode)
    await rename(staging, o.path)
  } catch (err) {
    await closeServer(server)
    await rm(dir, { recursive: true, force: true })
    throw new ConfigError(`${where} could not be created (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${(err as Error).message}`, { cause: err, code: 'listen_failed' })
  }
  await rm(dir, { recursive: true, force: true })
  const { ino, dev } = await stat(o.path)
  let closed: Promise<void> | undefined
  return {
    path: o.path,
    close: async () => {
      closed ??= (async () => {
        // Stop accepting at once; the connections already handed over are the profile's server's to drain.
        const stopped = closeServer(server)
        const now = await stat(o.path).catch(() => undefined)
        if (now?.ino === ino && now.dev === dev) await unlink(o.path).catch(() => { /* already gone */ })
        await stopped
      })()
      await closed
    }
  }
}

/** A socket file nothing answers on (a crashed run's) is removed; a live one, or any other file, is left and refused. */
async function clearStale (path: string, where: string): Promise<void> {
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw new ConfigError(`${where} cannot be examined (${err.code ?? 'error'}): check the folder's permissions`, { cause: err, code: 'listen_failed' })
  })
  if (info === undefined) return
  if (!info.isSocket()) throw new ConfigError(`${where} exists and is not a socket: remove it, or choose another path (the proxy never deletes a file that is not its socket)`, { code: 'listen_failed' })
  const answer = await probe(path)
  if (answer === 'answers') throw new ConfigError(`${where} is in use: another process answers on it (another proxy?); stop it, or choose another path`, { code: 'listen_failed' })
  if (answer !== 'refused') throw new ConfigError(`${where} exists and cannot be tested (${answer}): remove it if no process uses it, or choose another path`, { code: 'listen_failed' })
  await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
}

/** 'answers', 'refused' (nothing listens: stale), or the error code of a connect that could not tell. */
async function probe (path: string): Promise<string> {
  return await new Promise((resolve) => {
    const socket = connect(path)
    const timer = setTimeout(() => { socket.destroy(); resolve('answers') }, STALE_PROBE_MS)
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve('answers') })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // ECONNREFUSED: a socket file with no listener; ENOENT: removed meanwhile. Anything else (EACCES): not ours to judge.
      resolve(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'refused' : err.code ?? 'error')
    })
  })
}

async function closeServer (server: Server): Promise<void> {
  if (!server.listening) return
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
}

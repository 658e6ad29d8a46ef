import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { Agent, request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { unixBaseUrl, unixSocketOf } from '../src/core/unix-sockets.js'
import { listenUnix, type UnixListener } from '../src/runtime/sockets.js'
import { runProcess } from './helpers/run-process.js'

/** Issue 22: a profile's or a caller's Unix socket, with real clients over it: curl, Python (requests, httpx), undici. */

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3'
const dir = mkdtempSync(join(tmpdir(), 'cxone-uds-'))
// Other users may reach the folder: only each socket's own mode keeps them out.
chmodSync(dir, 0o755)
let n = 0
const socketPath = (): string => join(dir, `s${++n}.sock`)

/** A stand-in for a profile's server: says which socket each request came in on and the Host it carried. */
let target: HttpServer
const open: UnixListener[] = []
beforeAll(async () => {
  target = createHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ socket: unixSocketOf(req.socket) ?? null, host: req.headers.host ?? null, path: req.url, base: unixBaseUrl(req.headers.host) }))
  })
})
afterEach(async () => { await Promise.all(open.splice(0).map(async (l) => { await l.close() })) })
afterAll(async () => {
  target.closeAllConnections()
  rmSync(dir, { recursive: true, force: true })
})
async function listen (path: string, mode = 0o600): Promise<UnixListener> {
  const l = await listenUnix({ path, mode, target, owner: 'caller "wallboard"' })
  open.push(l)
  return l
}

describe('a Unix socket listener', () => {
  it('is created with the operator\'s mode, and serves curl, requests-unixsocket, httpx and undici', async () => {
    const path = socketPath()
    await listen(path)
    expect(statSync(path).isSocket()).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)

    const curl = await runProcess('curl', ['-sS', '--unix-socket', path, 'http://localhost/inContactAPI/services/v31.0/skills/activity'])
    expect(curl.stderr).toBe('')
    expect(JSON.parse(curl.stdout)).toEqual({ socket: path, host: 'localhost', path: '/inContactAPI/services/v31.0/skills/activity', base: 'http://localhost' })

    const encoded = encodeURIComponent(path)
    const requests = await runProcess(PYTHON, ['-c', [
      'import sys, requests_unixsocket',
      `r = requests_unixsocket.Session().get("http+unix://${encoded}/agents/states")`,
      'print(r.status_code); print(r.text)'
    ].join('\n')])
    expect(requests.stderr).toBe('')
    const [status, body] = requests.stdout.trim().split('\n')
    expect(status).toBe('200')
    expect(JSON.parse(body as string)).toEqual({ socket: path, host: 'localhost', path: '/agents/states', base: 'http://localhost' })

    const httpx = await runProcess(PYTHON, ['-c', [
      'import httpx',
      `c = httpx.Client(transport=httpx.HTTPTransport(uds="${path}"))`,
      'r = c.get("http://localhost/contacts/active")',
      'print(r.text)'
    ].join('\n')])
    expect(httpx.stderr).toBe('')
    expect(JSON.parse(httpx.stdout)).toEqual({ socket: path, host: 'localhost', path: '/contacts/active', base: 'http://localhost' })

    const agent = new Agent({ connect: { socketPath: path }, keepAliveTimeout: 100 })
    try {
      const r = await request('http://localhost/server-time', { dispatcher: agent })
      expect(await r.body.json()).toEqual({ socket: path, host: 'localhost', path: '/server-time', base: 'http://localhost' })
    } finally {
      await agent.close()
    }
  })

  // A second uid needs root (runuser); the CI container and this machine run the suite as root.
  it.runIf(process.getuid?.() === 0)('keeps another user out with mode 0600 (EACCES from the filesystem), and lets them in with a mode that includes them', async () => {
    const closed = socketPath()
    await listen(closed, 0o600)
    const refused = await runProcess('runuser', ['-u', 'nobody', '--', 'curl', '-sS', '--unix-socket', closed, 'http://localhost/x'])
    // curl says only "Couldn't connect" (exit 7); Node shows the errno the kernel gave: EACCES.
    expect(refused.code).toBe(7)
    expect(refused.stdout).toBe('')
    // A node the other user can run: the suite's own may sit in root's home (npx -p node@24), which it cannot enter.
    const node = await nodeFor('nobody')
    const nodeRefused = await runProcess('runuser', ['-u', 'nobody', '--', node, '-e', `require('net').connect(${JSON.stringify(closed)}).on('error', (e) => { console.log(e.code) })`])
    expect(nodeRefused.stdout.trim()).toBe('EACCES')
    // The control: the same client, the same user, a mode that lets every user write to the socket.
    const wide = socketPath()
    await listen(wide, 0o666)
    const let_in = await runProcess('runuser', ['-u', 'nobody', '--', 'curl', '-sS', '--unix-socket', wide, 'http://localhost/x'])
    expect(let_in.stderr).toBe('')
    expect(JSON.parse(let_in.stdout).socket).toBe(wide)
  })

  it('is never seen with another mode than its own, not even while it is being created', async () => {
    // Bound in a private folder and renamed into place: the path only ever names a socket with its final mode. Another
    // process stats the paths in a busy loop while they are created (listen-then-chmod shows the umask's mode here).
    const paths = Array.from({ length: 20 }, socketPath)
    const watcher = spawn(process.execPath, ['-e', [
      'const fs = require("fs"); const paths = JSON.parse(process.argv[1]); const seen = new Set()',
      'process.stdout.write("ready\\n")',
      'const end = Date.now() + 3000',
      'while (Date.now() < end && !fs.existsSync(paths[0] + ".done")) for (const p of paths) { try { seen.add(fs.statSync(p).mode & 0o777) } catch {} }',
      'console.log(JSON.stringify([...seen]))'
    ].join('\n'), JSON.stringify(paths)])
    let out = ''
    watcher.stdout.on('data', (d: Buffer) => { out += d.toString() })
    await new Promise<void>((resolve) => watcher.stdout.once('data', () => { resolve() }))
    for (const p of paths) await listen(p, 0o640)
    writeFileSync(`${paths[0] as string}.done`, '')
    await new Promise((resolve) => watcher.once('exit', resolve))
    expect(JSON.parse(out.split('\n')[1] as string)).toEqual([0o640])
  })

  it('replaces a stale socket file left by a crashed run, and refuses one something still answers on', async () => {
    const path = socketPath()
    // A run killed with SIGKILL leaves its socket file behind, with nothing listening.
    const crashed = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`])
    await new Promise<void>((resolve) => crashed.stdout.once('data', () => { resolve() }))
    crashed.kill('SIGKILL')
    await new Promise((resolve) => crashed.once('exit', resolve))
    expect(statSync(path).isSocket()).toBe(true)
    await listen(path)
    const curl = await runProcess('curl', ['-sS', '--unix-socket', path, 'http://localhost/after-crash'])
    expect(JSON.parse(curl.stdout).path).toBe('/after-crash')

    const live = socketPath()
    const other = createServer()
    await new Promise<void>((resolve) => other.listen(live, resolve))
    try {
      await expect(listenUnix({ path: live, mode: 0o600, target, owner: 'caller "wallboard"' })).rejects.toThrow(`caller "wallboard": socket ${live} is in use: another process answers on it (another proxy?); stop it, or choose another path`)
    } finally {
      await new Promise((resolve) => other.close(resolve))
    }
  })

  it('never deletes a file that is not a socket, and names a folder it cannot write', async () => {
    const path = join(dir, 'notes.txt')
    writeFileSync(path, 'keep me')
    await expect(listenUnix({ path, mode: 0o600, target, owner: 'caller "wallboard"' })).rejects.toThrow(`caller "wallboard": socket ${path} exists and is not a socket: remove it, or choose another path (the proxy never deletes a file that is not its socket)`)
    expect(readFileSync(path, 'utf8')).toBe('keep me')
    const missing = join(dir, 'no-such-folder', 'w.sock')
    await expect(listenUnix({ path: missing, mode: 0o600, target, owner: 'caller "wallboard"' })).rejects.toThrow(`caller "wallboard": socket ${missing}: its folder ${join(dir, 'no-such-folder')} cannot be written (ENOENT): create it, writable by the proxy's user, or choose another path`)
  })

  it('is removed when closed, but a successor\'s socket at the same path is left alone', async () => {
    const path = socketPath()
    const first = await listenUnix({ path, mode: 0o600, target, owner: 'caller "wallboard"' })
    await first.close()
    expect(existsSync(path)).toBe(false)
    const old = await listenUnix({ path, mode: 0o600, target, owner: 'caller "wallboard"' })
    rmSync(path)
    const successor = await listen(path)
    await old.close()
    expect(statSync(path).isSocket()).toBe(true)
    await successor.close()
    expect(existsSync(path)).toBe(false)
  })
})

describe('a Fastify app served on an extra socket', () => {
  it('answers over the socket through its own server, hooks and all, each request tagged with the socket', async () => {
    const app = Fastify()
    app.addHook('onRequest', async (request, reply) => { reply.header('x-arrived-on', unixSocketOf(request.raw.socket) ?? 'tcp') })
    app.get('/inContactAPI/services/v31.0/skills/activity', async () => ({ skillActivity: [] }))
    await app.ready()
    const path = socketPath()
    const l = await listenUnix({ path, mode: 0o600, target: app.server, owner: 'profile "default"' })
    try {
      const curl = await runProcess('curl', ['-sS', '-i', '--unix-socket', path, 'http://localhost/inContactAPI/services/v31.0/skills/activity'])
      expect(curl.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(curl.stdout).toContain(`x-arrived-on: ${path}\r\n`)
      expect(curl.stdout.endsWith('{"skillActivity":[]}')).toBe(true)
    } finally {
      await app.close()
      await l.close()
    }
    expect(existsSync(path)).toBe(false)
  })
})

describe('the base URL of a socket caller\'s links', () => {
  it('is http:// and the Host as sent (localhost from curl, httpx, undici and requests-unixsocket)', () => {
    expect(unixBaseUrl('localhost')).toBe('http://localhost')
    expect(unixBaseUrl(undefined)).toBe('http://localhost')
    expect(unixBaseUrl('proxy.internal:8080')).toBe('http://proxy.internal:8080')
  })
})

/** The first node binary `user` can execute: this process's own, else the system's. */
async function nodeFor (user: string): Promise<string> {
  for (const candidate of [process.execPath, '/usr/bin/node', '/usr/local/bin/node']) {
    const probe = await runProcess('runuser', ['-u', user, '--', candidate, '-e', 'process.stdout.write("ok")'])
    if (probe.stdout === 'ok') return candidate
  }
  throw new Error(`no node binary that ${user} can execute: install one outside root's home (e.g. /usr/bin/node)`)
}

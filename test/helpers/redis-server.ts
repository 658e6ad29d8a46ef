import { spawn, type ChildProcess } from 'node:child_process'
import { createClient } from '@redis/client'
import { closedPort } from './run-process.js'

export interface RedisServer {
  port: number
  url: string
  /** The process id (tests pause it with SIGSTOP to make it slow). */
  pid: () => number | undefined
  /** Stops the server (SIGKILL: nothing is saved, like a crash). */
  stop: () => Promise<void>
  /** Starts it again on the same port, empty. */
  restart: () => Promise<void>
  /** A raw GET, as anyone who can read Redis would see it. */
  get: (key: string) => Promise<string | null>
  set: (key: string, value: string) => Promise<void>
  keys: (pattern: string) => Promise<string[]>
  pttl: (key: string) => Promise<number>
  /** The proxies' shared-token keys (not their short-lived lock keys). */
  tokenKeys: () => Promise<string[]>
}

/** A real redis-server on a free loopback port, no persistence; `stop()` it in afterEach/afterAll. */
export interface RedisOptions {
  password?: string
  /** TLS only (`rediss://`), with this certificate and key (PEM files); no client certificates asked. */
  tls?: { certFile: string, keyFile: string }
}

export async function startRedis (opts: RedisOptions = {}): Promise<RedisServer> {
  const port = await closedPort()
  let child: ChildProcess | undefined
  const launch = async (): Promise<void> => {
    const listen = opts.tls === undefined
      ? ['--port', String(port)]
      : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.certFile, '--tls-key-file', opts.tls.keyFile, '--tls-auth-clients', 'no']
    const proc = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', ...(opts.password !== undefined ? ['--requirepass', opts.password] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`redis-server did not start:\n${out}`)) }, 10_000)
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
      })
      proc.on('error', (err) => { clearTimeout(timer); reject(new Error(`redis-server cannot be started (is the redis-server package installed?): ${err.message}`)) })
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${code}:\n${out}`)) })
    })
  }
  const kill = async (): Promise<void> => {
    const proc = child
    child = undefined
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => { resolve() }))
    proc.kill('SIGCONT')
    proc.kill('SIGKILL')
    await exited
  }
  const open = async () => {
    const c = createClient({ url: `redis://127.0.0.1:${port}`, password: opts.password, socket: { reconnectStrategy: false } })
    c.on('error', () => {})
    await c.connect()
    return c
  }
  await launch()
  return {
    port,
    url: `${opts.tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    pid: () => child?.pid,
    stop: kill,
    restart: async () => { await kill(); await launch() },
    get: async (key) => {
      const c = await open()
      try { return await c.get(key) } finally { c.destroy() }
    },
    set: async (key, value) => {
      const c = await open()
      try { await c.set(key, value) } finally { c.destroy() }
    },
    tokenKeys: async () => {
      const c = await open()
      try { return (await c.keys('cxone-auth-proxy:v1:token:*')).filter((k) => !k.endsWith(':lock')) } finally { c.destroy() }
    },
    pttl: async (key) => {
      const c = await open()
      try { return await c.pTTL(key) } finally { c.destroy() }
    },
    keys: async (pattern) => {
      const c = await open()
      try { return await c.keys(pattern) } finally { c.destroy() }
    }
  }
}

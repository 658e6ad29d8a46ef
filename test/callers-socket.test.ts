import { execFile } from 'node:child_process'
import { chmodSync, existsSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API } from './helpers/harness.js'
import { KEYS, requestLines, startCallers, type CallerStack } from './helpers/callers.js'
import type { Handler } from './helpers/upstream.js'

const run = promisify(execFile)
const TEAMS = `${API}/teams`

/** `?moved` answers a redirect to the API's own origin, which the proxy rewrites for its caller. */
const handler: Handler = (req, res) => {
  if (req.url?.includes('moved') === true) res.writeHead(302, { location: `http://${req.headers.host ?? ''}${TEAMS}` })
  else res.writeHead(200, { 'content-type': 'application/json' })
  res.end('{"ok":true}')
}

const PY = `
import sys, urllib.parse, httpx, requests_unixsocket
sock, path = sys.argv[1], sys.argv[2]
a = httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url='http://localhost').get(path).status_code
b = requests_unixsocket.Session().get('http+unix://' + urllib.parse.quote(sock, safe='') + path).status_code
print(a, b)
`

describe('a caller on its own Unix socket is recognised by it', () => {
  let s: CallerStack
  let sock: string
  beforeAll(async () => {
    s = await startCallers({ callers: { wallboard: { socket: '@SOCK@' }, agent: {} } }, { handler, sockets: (dir) => { sock = join(dir, 'wallboard.sock'); return { '@SOCK@': sock } } })
  })
  afterAll(async () => { await s.close() })

  it('the socket has its mode (0600 by default)', () => {
    expect(statSync(sock).isSocket()).toBe(true)
    expect(statSync(sock).mode & 0o777).toBe(0o600)
  })

  it('a process of another user is refused by the filesystem (the socket\'s mode), even where it can reach the folder', async () => {
    chmodSync(dirname(sock), 0o755)
    const other = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', sock, `http://localhost${TEAMS}`]).catch((err: { code: number, stdout: string }) => err)
    expect(other.stdout).toBe('000')
    expect('code' in other ? other.code : 0).toBe(7)
  })

  it('curl --unix-socket: no key needed; another caller\'s key through it is refused', async () => {
    const code = async (...args: string[]): Promise<string> => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', sock, ...args, `http://localhost${TEAMS}`])).stdout
    expect(await code()).toBe('200')
    expect(requestLines(s).at(-1)?.caller).toBe('wallboard')
    expect(await code('-H', `X-Proxy-Key: ${KEYS.agent}`)).toBe('401')
    // Over TCP, the same call without a key is nobody's.
    expect((await fetch(`${s.url}${TEAMS}`)).status).toBe(401)
  })

  it('Python httpx (uds=) and requests-unixsocket', async () => {
    expect((await run('/usr/bin/python3', ['-c', PY, sock, TEAMS])).stdout.trim()).toBe('200 200')
  })

  it('undici socketPath; a Location is rewritten to http://<the Host it sent>', async () => {
    const dispatcher = new Agent({ connect: { socketPath: sock }, keepAliveTimeout: 10 })
    try {
      const res = await request(`http://localhost${TEAMS}?moved`, { dispatcher })
      await res.body.text()
      expect(res.statusCode).toBe(302)
      expect(res.headers.location).toBe(`http://localhost${TEAMS}`)
    } finally {
      await dispatcher.close()
    }
  })

  it('the socket file is removed at shutdown', async () => {
    await s.stack.running.shutdown('test over')
    expect(existsSync(sock)).toBe(false)
  })
})

describe('a profile\'s own Unix socket ("socket", PROXY_SOCKET)', () => {
  it('answers as its TCP port does, a call on it is a loopback call (the loopback caller), and it is removed at shutdown', async () => {
    let own = ''
    const s = await startCallers({ socket: '@OWN@', callers: { board: { loopback: true }, wallboard: {} } }, { handler, env: { PROXY_SOCKET_MODE: '0660' }, sockets: (dir) => { own = join(dir, 'proxy.sock'); return { '@OWN@': own } } })
    try {
      expect(statSync(own).mode & 0o777).toBe(0o660)
      const code = (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--unix-socket', own, `http://localhost${TEAMS}`])).stdout
      expect(code).toBe('200')
      expect(requestLines(s).at(-1)?.caller).toBe('board')
      await s.stack.running.shutdown('test over')
      expect(existsSync(own)).toBe(false)
    } finally {
      await s.close()
    }
  })
})

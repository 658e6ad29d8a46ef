import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { runCli, startCli } from './helpers/cli.js'

const run = promisify(execFile)

describe('npm run demo', () => {
  it('prints a banner whose curl and Python lines work against the real proxy and the simulator, and stops on SIGTERM', async () => {
    const demo = startCli(['demo'], { PROXY_PORT: '0', CXONE_CLIENT_SECRET: 'ignored-by-the-demo' })
    try {
      await demo.waitFor(/Ctrl-C stops the demo/)
      await demo.waitFor(/token obtained/)
      const out = demo.output()
      const curlLine = out.split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl -s') && l.includes('/skills/activity'))
      expect(curlLine).toBeDefined()
      const [, ...args] = (curlLine as string).split(/\s+/)
      const curl = await run('curl', [...args, '--noproxy', '*'])
      const body = JSON.parse(curl.stdout) as { skillActivity: unknown[], _links: { self: string } }
      expect(body.skillActivity.length).toBeGreaterThan(0)
      const proxyUrl = /the proxy on (http:\/\/\S+),/.exec(out)?.[1] as string
      expect(body._links.self.startsWith(proxyUrl)).toBe(true)

      // The second business unit, on its own port, as printed (issue 12).
      const two = out.split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl -s') && l.includes('second business unit')) as string
      expect(two).toBeDefined()
      expect(two).not.toContain(proxyUrl)
      const unit = JSON.parse((await run('bash', ['-c', two.replace('curl -s', 'curl -s --noproxy "*"')])).stdout) as { agentStates: unknown[] }
      expect(unit.agentStates.length).toBeGreaterThan(0)

      // Digital Engagement and UserHub calls, as printed, reach their own hosts (issue 11).
      for (const [family, host] of [['/dfo/', 'digital'], ['/business-data-manager/', 'ui']] as const) {
        const line = out.split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl -s') && l.includes(family)) as string
        expect(line, family).toBeDefined()
        const printed = await run('bash', ['-c', line.replace('curl -s', 'curl -s --noproxy "*"')])
        const answer = JSON.parse(printed.stdout) as { host: string, _links: { self: string } }
        expect(answer.host).toBe(host)
        expect(answer._links.self.startsWith(proxyUrl)).toBe(true)
      }

      // The Python block is pasted into a shell exactly as printed: a heredoc, every line flush left.
      const lines = out.split('\n')
      const start = lines.indexOf("python3 - <<'PY'")
      const end = lines.indexOf('PY', start)
      expect(start).toBeGreaterThan(0)
      const py = await run('bash', ['-c', lines.slice(start, end + 1).join('\n')], { env: { ...process.env, NO_PROXY: '127.0.0.1' } })
      expect(py.stdout.trim().split('\n').length).toBe(3)
      expect(py.stdout).toMatch(/^[A-Za-z ]+ \d+ \d+$/m)

      // Issue 23: the job with its own auth code runs as printed, only its base URL changed.
      const ownAuth = lines.find((l) => l.startsWith('CXONE_BASE_URL=') && l.includes('own_auth_job.py')) as string
      expect(ownAuth).toBeDefined()
      const job = await run('bash', ['-c', ownAuth], { env: { ...process.env, NO_PROXY: '127.0.0.1' } })
      expect(job.stdout).toMatch(/^skills: [1-9]\d*, contacts in queue: \d+, agents: \d+$/m)

      const checkLine = lines.findIndex((l) => l.startsWith('CXONE_ISSUER='))
      const check = await run('bash', ['-c', `${lines[checkLine] as string}\n${lines[checkLine + 1] as string}`], { env: { PATH: process.env.PATH } })
      expect(check.stdout).toMatch(/^result: OK/m)

      // Issue 25: the second unit's credentials are printed, and work; /dfo/ goes to a host that answers; the
      // rehearsal's port is neither of the demo's.
      const twoLine = lines.findIndex((l, i) => i > checkLine + 1 && l.startsWith('CXONE_ISSUER='))
      expect(twoLine).toBeGreaterThan(checkLine)
      const checkTwo = await run('bash', ['-c', `${lines[twoLine] as string}\n${lines[twoLine + 1] as string} --route /dfo/3.0/contacts`], { env: { PATH: process.env.PATH } })
      expect(checkTwo.stdout).toMatch(/^result: OK/m)
      expect(checkTwo.stdout).toMatch(/^\[ok\] {3}routing: \/dfo\/3\.0\/contacts → digital \(http:\/\/127\.0\.0\.1:\d+\)$/m)
      const rehearsal = Number(/^PROXY_PORT=(\d+) \S.* start$/m.exec(out)?.[1])
      const demoPorts = [proxyUrl, /(http:\/\/127\.0\.0\.1:\d+)\/inContactAPI\S+ +# the second business unit/.exec(out)?.[1] as string].map((u) => Number(new URL(u).port))
      expect(rehearsal).toBeGreaterThan(0)
      expect(demoPorts).not.toContain(rehearsal)
    } finally {
      const result = await demo.stop('SIGTERM')
      expect(result.code).toBe(0)
    }
  })

  it('honours ./proxy.config.json on the proxy side ("readOnly": true refuses a POST) and says so in the banner', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxone-demo-config-'))
    writeFileSync(join(dir, 'proxy.config.json'), JSON.stringify({ readOnly: true, issuer: 'https://cxone.niceincontact.com', tokenUrl: 'https://cxone.niceincontact.com/auth/token' }))
    const demo = startCli(['demo'], { PROXY_PORT: '0' }, dir)
    try {
      await demo.waitFor(/token obtained/)
      expect(demo.output()).toContain('Proxy settings: proxy.config.json and PROXY_* variables, as `start` reads them (read-only: GET, HEAD and OPTIONS only); the CXone side is the simulator.')
      const url = /the proxy on (http:\/\/\S+),/.exec(demo.output())?.[1] as string
      const post = await fetch(`${url}/inContactAPI/services/v31.0/contacts/123/notes`, { method: 'POST', body: '{}' })
      expect(post.status).toBe(403)
      expect(((await post.json()) as { error: { code: string } }).error.code).toBe('forbidden_route')
      expect((await fetch(`${url}/inContactAPI/services/v31.0/skills/activity`)).status).toBe(200)
    } finally {
      expect((await demo.stop('SIGTERM')).code).toBe(0)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a busy port gets a clear message, not a stack trace', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const r = await runCli(['demo'], { PROXY_PORT: String(port) })
      expect(r.code).toBe(2)
      expect(r.stderr.trim()).toBe(`cxone-auth-proxy: PROXY_PORT=${port} is already in use on 127.0.0.1: stop the other process or choose another port with PROXY_PORT`)
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => { resolve() }))
    }
  })
})

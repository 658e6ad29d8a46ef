import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
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

      const lines = out.split('\n')
      const start = lines.findIndex((l) => l.trim() === 'import requests')
      const python = lines.slice(start, start + 4).map((l) => l.replace(/^ {4}/, '')).join('\n')
      const py = await run('python3', ['-c', python], { env: { ...process.env, NO_PROXY: '127.0.0.1' } })
      expect(py.stdout.trim().split('\n').length).toBe(3)
      expect(py.stdout).toMatch(/^[A-Za-z ]+ \d+ \d+$/m)
    } finally {
      const result = await demo.stop('SIGTERM')
      expect(result.code).toBe(0)
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { skillActivity } from '../src/simulator/realtime.js'
import { startDeadApiStack, startStack, type Stack } from './helpers/harness.js'
import { closedPort, runProcess } from './helpers/run-process.js'

/** The example job, run by the first python3 on PATH (.ci/run makes sure it can import requests). */
const SCRIPT = 'examples/python/queue_snapshot.py'
// Any fixed instant: the simulator's data is a pure function of its clock.
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0, 123)
const STEP_MS = 5_000

async function job (args: string[], proxyUrl: string, env: Record<string, string> = {}): ReturnType<typeof runProcess> {
  return await runProcess('python3', [SCRIPT, ...args], { CXONE_AUTH_PROXY_URL: proxyUrl, CXONE_AUTH_PROXY_KEY: '', ...env })
}

type Skill = Record<string, unknown>

/** The job's table for these skills, as rows of cells, in its order (longest queue first). */
function expectedRows (skills: Map<unknown, Skill>, now: number): string[][] {
  return [...skills.values()]
    .sort((a, b) => (b.queueCount as number) - (a.queueCount as number) || (a.skillId as number) - (b.skillId as number))
    .map((s) => {
      const waitSec = Math.floor((now - Date.parse(String(s.earliestQueueTime))) / 1000)
      const wait = (s.queueCount as number) > 0 ? `${Math.floor(waitSec / 60)}:${String(waitSec % 60).padStart(2, '0')}` : '-'
      return [String(s.skillId), String(s.skillName), String(s.queueCount), wait, String(s.agentsAvailable), `${String(s.serviceLevel)}%`]
    })
}

/** Splits the job's output into its reports: a banner line and the table rows under it. */
function reports (stdout: string): Array<{ banner: string, header: string | undefined, rows: string[][] }> {
  const out: Array<{ banner: string, header: string | undefined, rows: string[][] }> = []
  for (const line of stdout.trimEnd().split('\n')) {
    if (/^(Queue snapshot at|No change since|No skill activity)/.test(line)) out.push({ banner: line, header: undefined, rows: [] })
    else if (line.startsWith('SKILL')) (out.at(-1) as { header: string | undefined }).header = line
    else out.at(-1)?.rows.push(line.trim().split(/\s{2,}/))
  }
  return out
}

function query (url: string): Record<string, string> {
  return Object.fromEntries(new URL(url, 'http://x').searchParams)
}

describe('the Python job (examples/python/queue_snapshot.py) through the proxy', () => {
  beforeAll(async () => {
    const probe = await runProcess('python3', ['-c', 'import requests'])
    if (probe.code !== 0) throw new Error(`the first python3 on PATH cannot import requests (run .ci/run, or apt-get install python3-requests): ${probe.stderr}`)
  })

  describe('against the simulator', () => {
    let stack: Stack
    // The clock moves one step when the job first polls incrementally, then stands still.
    const now = (): number => T0 + (stack?.sim.apiRequests.some((r) => r.url.includes('updatedSince=')) === true ? STEP_MS : 0)
    beforeAll(async () => { stack = await startStack({ sim: { now } }) })
    afterAll(async () => { await stack.close() })

    it('reads every page, then only what changed, then reports no change; every page carried the bearer', async () => {
      const result = await job(['--top', '2', '--count', '3', '--interval', '0.05'], stack.url)
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)

      const first = skillActivity(T0, undefined)
      const changed = skillActivity(T0 + STEP_MS, T0)
      const merged = new Map<unknown, Skill>(first.map((s) => [s.skillId, s]))
      for (const s of changed) merged.set(s.skillId, s)
      const changedPages = Math.max(1, Math.ceil(changed.length / 2))
      expect(changed.length).toBeGreaterThan(0)

      const t0 = new Date(T0).toISOString()
      const t1 = new Date(T0 + STEP_MS).toISOString()
      const header = ['SKILL', 'NAME', 'IN QUEUE', 'LONGEST WAIT', 'AVAILABLE', 'SERVICE LEVEL']
      expect(reports(result.stdout).map((r) => ({ ...r, header: r.header?.split(/\s{2,}/) }))).toEqual([
        { banner: `Queue snapshot at ${t0}: 6 skills, 6 updated (3 pages)`, header, rows: expectedRows(new Map(first.map((s) => [s.skillId, s])), T0) },
        { banner: `Queue snapshot at ${t1}: 6 skills, ${changed.length} updated (${changedPages} page${changedPages === 1 ? '' : 's'})`, header, rows: expectedRows(merged, T0 + STEP_MS) },
        { banner: `No change since ${t1}`, header: undefined, rows: [] }
      ])

      const polls = stack.sim.apiRequests.filter((r) => r.url.includes('/skills/activity'))
      expect(polls.map((r) => query(r.url))).toEqual([
        { top: '2' },
        { top: '2', skip: '2' },
        { top: '2', skip: '4' },
        { top: '2', updatedSince: t0 },
        ...Array.from({ length: changedPages - 1 }, (_, i) => ({ top: '2', updatedSince: t0, skip: String(2 * (i + 1)) })),
        { top: '2', updatedSince: t1 }
      ])
      for (const r of polls) expect(r.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
    })

    it('reports CXone\'s own error and exits 1', async () => {
      const result = await job(['--once', '--api-version', '31.0/nowhere'], stack.url)
      expect(result).toEqual({ code: 1, stdout: '', stderr: 'queue_snapshot: CXone answered 404 not_found: no resource /nowhere/skills/activity\n' })
    })
  })

  describe('when the CXone API cannot be reached', () => {
    let stack: Stack & { deadOrigin: string }
    beforeAll(async () => { stack = await startDeadApiStack() })
    afterAll(async () => { await stack.close() })

    it('prints the proxy\'s error code and message and exits 1', async () => {
      const result = await job(['--once'], stack.url)
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `queue_snapshot: cxone-auth-proxy answered 502 destination_unavailable: the CXone API at ${stack.deadOrigin} refused the connection\n`
      })
    })
  })

  describe('when the proxy wants an inbound key (PROXY_API_KEYS)', () => {
    let stack: Stack
    beforeAll(async () => { stack = await startStack({ env: { PROXY_API_KEYS: 'job-key-1,other-key' } }) })
    afterAll(async () => { await stack.close() })

    it('sends CXONE_AUTH_PROXY_KEY as X-Proxy-Key, and without it reports proxy_auth_required', async () => {
      const refused = await job(['--once'], stack.url)
      expect(refused).toEqual({
        code: 1,
        stdout: '',
        stderr: 'queue_snapshot: cxone-auth-proxy answered 401 proxy_auth_required: this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header\n'
      })
      const admitted = await job(['--once'], stack.url, { CXONE_AUTH_PROXY_KEY: 'job-key-1' })
      expect(admitted.stderr).toBe('')
      expect(admitted.code).toBe(0)
      expect(reports(admitted.stdout)[0]?.rows.map((r) => r[1]).sort()).toEqual(skillActivity(Date.now(), undefined).map((s) => s.skillName).sort())
      expect(stack.sim.apiRequests.at(-1)?.headers['x-proxy-key']).toBeUndefined()
    })
  })

  it('says the proxy is not running when nothing listens at CXONE_AUTH_PROXY_URL, and exits 1', async () => {
    const port = await closedPort()
    const result = await job(['--once'], `http://127.0.0.1:${port}`)
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `queue_snapshot: cannot reach cxone-auth-proxy at http://127.0.0.1:${port}/inContactAPI/services/v31.0/skills/activity: is it running? Set CXONE_AUTH_PROXY_URL if it listens elsewhere (ConnectionError)\n`
    })
  })
})

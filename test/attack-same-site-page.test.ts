import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { startUpstream, type Upstream } from './helpers/upstream.js'

// Debian's chromium package; .ci/run installs it. No browser is downloaded.
const CHROMIUM = '/usr/bin/chromium'

/**
 * A page on another 127.0.0.1 port is "same-site" to the proxy (a site ignores the port): its <img> and no-cors
 * fetch carry `Sec-Fetch-Site: same-site` and no Origin. They cannot read the answer, but forwarding them spends
 * the tenant's quota (issue 24, defect 9).
 */
const PAGE = (proxy: string): string => `<!doctype html><title>loading</title>
<img id="pixel" alt="">
<script>
const proxy = ${JSON.stringify(proxy)}
const img = new Promise((resolve) => {
  const el = document.getElementById('pixel')
  el.onload = el.onerror = resolve
  el.src = proxy + '/agents/states'
})
const noCors = fetch(proxy + '/skills/activity', { mode: 'no-cors' }).catch(() => {})
const post = fetch(proxy + '/contacts', { method: 'POST', body: 'x', mode: 'no-cors' }).catch(() => {})
Promise.all([img, noCors, post]).then(() => { document.title = 'done' })
</script>`

describe('attack: a page on another loopback port spends the tenant\'s quota through the user\'s browser', () => {
  let stack: Stack
  let site: Upstream
  let dir: string
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'same-site-'))
    stack = await startStack()
    site = await startUpstream((_req, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(PAGE(`${stack.url}${API}`)) })
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    page = context.pages()[0] ?? await context.newPage()
  }, 60_000)
  afterAll(async () => {
    await context?.close()
    await site?.close()
    await stack?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('refuses the <img>, the no-cors fetch and the POST with 403 and forwards none of them', { timeout: 60_000 }, async () => {
    const before = stack.sim.apiRequests.length
    await page.goto(site.url)
    await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 15_000 })
    const answered = stack.logs.entries.filter((l) => l.msg === 'request' && String(l.path).startsWith(API))
    expect(answered.map((l) => ({ method: l.method, path: l.path, status: l.status })).sort((a, b) => String(a.path).localeCompare(String(b.path)))).toEqual([
      { method: 'GET', path: `${API}/agents/states`, status: 403 },
      { method: 'POST', path: `${API}/contacts`, status: 403 },
      { method: 'GET', path: `${API}/skills/activity`, status: 403 }
    ])
    expect(stack.sim.apiRequests.slice(before).map((r) => `${r.method} ${r.url} ${String(r.headers['sec-fetch-site'])}`)).toEqual([])
  })

  it('still serves the proxy\'s own status page in the same browser (typed address, then same-origin fetches)', { timeout: 60_000 }, async () => {
    await page.goto(`${stack.url}/_proxy/`)
    const fingerprint = stack.running.proxy.provider.current()?.fingerprint ?? 'none'
    await page.locator('[data-field="fingerprint"]', { hasText: fingerprint }).waitFor({ timeout: 10_000 })
  })
})

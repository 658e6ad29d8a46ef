import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, startStack, type Stack } from './helpers/harness.js'
import { closedPort } from './helpers/run-process.js'

// Debian's chromium package; .ci/run installs it. No browser is downloaded.
const CHROMIUM = '/usr/bin/chromium'
const KEY = 'browser-test-key'

describe('the status page in a real browser (headless Chromium, phone width)', () => {
  let stack: Stack
  let admin: string
  let dir: string
  let context: BrowserContext
  let page: Page
  const problems: string[] = []
  const requested: string[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'status-page-'))
    // The API origin the simulator hands out is a closed port: every forwarded call fails with 502.
    stack = await startStack({ sim: { apiEndpoint: `http://127.0.0.1:${await closedPort()}` }, env: { PROXY_API_KEYS: KEY, PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1' } })
    admin = stack.running.adminUrl ?? ''
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    page = context.pages()[0] ?? await context.newPage()
    page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`) })
    page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
    page.on('requestfailed', (req) => { problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`) })
    page.on('request', (req) => { requested.push(req.url()) })
  }, 60_000)
  afterAll(async () => {
    await context?.close()
    await stack?.close()
    // The screenshot stays for the reader of the test output; the browser profile goes.
    if (dir !== undefined) rmSync(join(dir, 'profile'), { recursive: true, force: true })
  })

  it('renders the token, counts down, lists a failed call by request id, without console errors or outside requests', { timeout: 60_000 }, async () => {
    const failed = await fetch(`${stack.url}${API}/skills/activity`, { headers: { 'x-proxy-key': KEY, 'x-request-id': 'browser-first-502' } })
    expect(failed.status).toBe(502)
    const message = (await failed.json() as { error: { message: string } }).error.message

    await page.goto(`${admin}/_proxy/`)
    const fingerprint = stack.running.proxy.provider.current()?.fingerprint ?? 'none'
    await page.locator('[data-field="fingerprint"]', { hasText: fingerprint }).waitFor({ timeout: 10_000 })
    expect(await page.locator('[data-field="token-state"]').textContent()).toBe('token valid')
    expect(await page.locator('[data-field="api-origin-from"]').textContent()).toBe('discovered')

    const countdown = page.locator('[data-field="expires-in"]')
    const first = await countdown.textContent()
    expect(first).toMatch(/^(59|60) min \d\d s$/)
    await page.waitForFunction((before) => document.querySelector('[data-field="expires-in"]')?.textContent !== before, first, { timeout: 5_000 })
    expect(await countdown.textContent()).toMatch(/^(59|60) min \d\d s$/)

    const entry = page.locator('li[data-request-id="browser-first-502"]')
    expect((await entry.innerText()).split('\n')).toEqual([
      '502',
      'destination_unavailable',
      expect.stringMatching(/^\d\d:\d\d:\d\d \(\d+ s ago\)$/),
      `GET ${API}/skills/activity`,
      'request id browser-first-502',
      message
    ])

    // A call that fails while the page is open appears at the next poll, without a reload.
    const later = await fetch(`${stack.url}${API}/agents/states`, { headers: { 'x-proxy-key': KEY, 'x-request-id': 'browser-later-502' } })
    expect(later.status).toBe(502)
    await page.locator('li[data-request-id="browser-later-502"]').waitFor({ timeout: 10_000 })
    expect(await page.locator('ol.errors li').evaluateAll((items) => items.map((li) => li.getAttribute('data-request-id')))).toEqual(['browser-later-502', 'browser-first-502'])
    expect(await page.locator('[data-field="traffic-summary"]').textContent()).toBe('2 requests, 2 proxy errors')

    // Readable at phone width: nothing wider than the screen, text at a readable size.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    expect(await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize))).toBeGreaterThanOrEqual(14)
    const shot = join(dir, 'status-page-390x844.png')
    await page.screenshot({ path: shot, fullPage: true })
    console.log(`status page screenshot: ${shot}`)
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(shot, 'docs/status-page.png')

    // The settings, folded away by default: secrets only as where they came from.
    await page.locator('#settings-card summary').click()
    const settings = await page.locator('#settings').innerText()
    expect(settings).toContain('CXONE_CLIENT_SECRET\t•••••• (from env)')
    expect(settings).toContain('inbound keys\t1 (values hidden)')
    expect(settings).toContain('port\t0 (env)')

    expect(problems).toEqual([])
    expect(requested.filter((url) => !url.startsWith(`${admin}/_proxy/`))).toEqual([])
    expect(await page.locator('body').innerText()).not.toContain(KEY)
  })
})

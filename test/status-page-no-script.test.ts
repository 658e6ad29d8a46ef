import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers/harness.js'

// Debian's chromium package, as in status-page-browser.test.ts. Issue 25: the page showed "loading…" until its
// script ran; its first view is now drawn on the server.
const CHROMIUM = '/usr/bin/chromium'

describe('the status page without JavaScript (headless Chromium)', () => {
  let stack: Stack
  let browser: Browser

  beforeAll(async () => {
    stack = await startStack({ env: { PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1' } })
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await stack?.close()
  })

  it('shows the token, the upstreams and the traffic on load, never "loading…"', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } })
    try {
      const page = await context.newPage()
      await page.goto(`${stack.running.adminUrl ?? ''}/_proxy/`)
      const shot = join(mkdtempSync(join(tmpdir(), 'status-no-script-')), 'status-no-script.png')
      await page.screenshot({ path: shot, fullPage: true })
      const text = await page.locator('body').innerText()
      expect(text).not.toContain('loading…')
      expect(await page.locator('[data-field="token-state"]').textContent()).toBe('token valid')
      expect(await page.locator('[data-field="fingerprint"]').textContent()).toBe(stack.running.proxy.provider.current()?.fingerprint)
      expect(await page.locator('[data-field="upstream-api"]').textContent()).toBe(stack.sim.origin)
      expect(text).toContain('Traffic, last 15 minutes')
    } finally {
      await context.close()
    }
  })
})

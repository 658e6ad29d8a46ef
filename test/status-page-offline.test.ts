import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STATUS_CSS, STATUS_HTML } from '../src/ops/status-page.js'
import { STATUS_JS } from '../src/ops/status-script.js'

/** STATUS_HTML with the profiles and the settings drawn into their two empty elements. */
const servedPage = new RegExp(`^${STATUS_HTML.split(/<p id="updated"[^>]*>loading…<\/p>|<main id="profiles"><\/main>|<table id="settings" class="kv settings"><\/table>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`)
import { startStack, type Stack } from './helpers/harness.js'

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

describe('the status page is one self-contained document', () => {
  let open: Stack
  let keyed: Stack
  beforeAll(async () => {
    open = await startStack()
    keyed = await startStack({ env: { PROXY_API_KEYS: 'page-key', PROXY_ADMIN_PORT: '0', PROXY_ADMIN_HOST: '127.0.0.1' } })
  })
  afterAll(async () => {
    await open.close()
    await keyed.close()
  })

  it('GET /_proxy/ serves the page under a strict Content-Security-Policy', async () => {
    const r = await fetch(`${keyed.running.adminUrl ?? ''}/_proxy/`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(r.headers.get('content-security-policy')).toBe(CSP)
    expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    expect(r.headers.get('cache-control')).toBe('no-store')
    // Issue 25: the page is STATUS_HTML with its first view drawn on the server.
    expect(await r.text()).toMatch(servedPage)
  })

  it('serves its script and style sheet itself, and they load nothing from elsewhere', async () => {
    const base = keyed.running.adminUrl ?? ''
    const js = await fetch(`${base}/_proxy/status.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await js.text()).toBe(STATUS_JS)
    const css = await fetch(`${base}/_proxy/status.css`)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toBe(STATUS_CSS)
    // The served page carries the report's URLs as text, never as something to load.
    expect(await (await fetch(`${base}/_proxy/`)).text()).not.toMatch(/(src|href)="https?:|url\(|@import|<script>|\son\w+=|style="/)
    for (const text of [STATUS_HTML, STATUS_JS, STATUS_CSS]) {
      expect(text).not.toMatch(/https?:\/\/|url\(|@import|<script>|\son\w+=|innerHTML/)
    }
  })

  it('on the main listener it follows the usual rules: open on loopback without keys, behind the key with keys', async () => {
    const before = open.sim.apiRequests.length
    const page = await fetch(`${open.url}/_proxy/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toMatch(servedPage)
    const bare = await fetch(`${open.url}/_proxy`, { redirect: 'manual' })
    expect(bare.status).toBe(301)
    expect(bare.headers.get('location')).toBe('/_proxy/')
    expect(open.sim.apiRequests.length).toBe(before)

    const refused = await fetch(`${keyed.url}/_proxy/`)
    expect(refused.status).toBe(401)
    expect(await refused.json()).toEqual({ error: { code: 'proxy_auth_required', message: 'this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header' } })
    expect((await fetch(`${keyed.url}/_proxy/`, { headers: { 'x-proxy-key': 'page-key' } })).status).toBe(200)
  })
})

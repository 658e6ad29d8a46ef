import { runInNewContext } from 'node:vm'
import { STATUS_HTML } from './status-page.js'
import { STATUS_RENDER_JS } from './status-script.js'

/**
 * The status page's first view, rendered on the server (issue 25: without JavaScript, or before the first poll, the
 * page showed only "loading…"). It runs the page's own drawing code (STATUS_RENDER_JS) over the few DOM calls that
 * code makes, then serialises the result, every text and attribute escaped: messages and paths come from callers.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)

class ServerNode {
  className = ''
  title = ''
  readonly style: { height?: string } = {}
  readonly attributes = new Map<string, string>()
  children: Array<ServerNode | string> = []
  constructor (readonly tag: string) {}
  get firstChild (): ServerNode | string | undefined { return this.children[0] }
  set textContent (text: string) { this.children = [String(text)] }
  appendChild (child: ServerNode): ServerNode { this.children.push(child); return child }
  removeChild (child: ServerNode | string): void { this.children = this.children.filter((c) => c !== child) }
  setAttribute (name: string, value: string): void { this.attributes.set(name, String(value)) }

  html (): string {
    return this.children.map((c) => typeof c === 'string' ? escape(c) : c.outer()).join('')
  }

  outer (): string {
    // The page's CSP (style-src 'self') refuses style attributes: a bar's height becomes a class in steps of 5 %.
    const height = this.style.height === undefined ? '' : ` h${Math.round(parseFloat(this.style.height) / 5) * 5}`
    const cls = `${this.className}${height}`.trim()
    const attrs = [...(cls !== '' ? [['class', cls]] : []), ...(this.title !== '' ? [['title', this.title]] : []), ...this.attributes]
    return `<${this.tag}${attrs.map(([k, v]) => ` ${k as string}="${escape(v as string)}"`).join('')}>${this.html()}</${this.tag}>`
  }
}

/**
 * The page with its profiles and settings drawn for `report` (status.ts's StatusReport, as status.json serves it; only
 * `now` is read here, the page's own script reads the rest); the script then redraws it every 5 s.
 */
export function renderStatusPage<R extends { readonly now: string }> (report: R): string {
  const roots = { profiles: new ServerNode('main'), settings: new ServerNode('table') }
  const document = {
    createElement: (tag: string) => new ServerNode(tag),
    getElementById: (id: string) => roots[id as keyof typeof roots]
  }
  runInNewContext(`${STATUS_RENDER_JS}\nreport = serverReport; render();`, { document, Node: ServerNode, serverReport: report }, { timeout: 1000 })
  return STATUS_HTML
    .replace('<p id="updated" class="muted">loading…</p>', `<p id="updated" class="muted">as of ${escape(report.now.slice(11, 19))} UTC; updates every 5 s with JavaScript</p>`)
    .replace('<main id="profiles"></main>', `<main id="profiles">${roots.profiles.html()}</main>`)
    .replace('<table id="settings" class="kv settings"></table>', `<table id="settings" class="kv settings">${roots.settings.html()}</table>`)
}

/**
 * Paths as the rules see them: the path of a raw target, the view a lenient server would act on, and route
 * patterns. Pure functions shared by admission (src/proxy), the micro-cache and pacing (src/quota).
 */
import type { RouteRule } from './settings.js'

const NORMALISE_ROUNDS = 3

/** The path without the query, for logs and route matching. */
export function pathOf (rawUrl: string): string {
  const q = rawUrl.indexOf('?')
  return q < 0 ? rawUrl : rawUrl.slice(0, q)
}

/**
 * The path as a lenient server might resolve it: percent-decoded (repeatedly, so %252e is seen as "."),
 * NFKC-folded (full-width "．" is "."), `;params` dropped, empty segments removed. Undefined when that view
 * climbs with a dot segment: such a path can never match a rule.
 */
export function serverView (path: string): string | undefined {
  let p = path
  for (let i = 0; i < NORMALISE_ROUNDS && p.includes('%'); i++) {
    try {
      p = decodeURIComponent(p)
    } catch {
      break
    }
  }
  p = p.normalize('NFKC')
  const segments = p.split('/').map((s) => s.split(';', 1)[0] as string).filter((s) => s !== '')
  if (segments.some((s) => s === '.' || s === '..' || s.includes('\\'))) return undefined
  return `/${segments.join('/')}`
}

/** `*` is one path segment, `**` any rest: "GET /inContactAPI/services/*\/skills/**". */
export function compileRoute (rule: RouteRule): (method: string, path: string) => boolean {
  const source = rule.pattern.split('/').map((seg) => {
    if (seg === '**') return '.*'
    return seg.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')
  }).join('/')
  const re = new RegExp(`^${source.replace(/\/\.\*$/, '(?:/.*)?')}$`)
  return (method, path) => (rule.method === '*' || rule.method === method) && re.test(path)
}

/** The methods PROXY_READ_ONLY and a caller's `readOnly` forward (issue 22 shares them with admission's step 6). */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Headers that ask a server to act on another method or URL than the one a rule judged. */
export const OVERRIDE_HEADERS: readonly string[] = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url']

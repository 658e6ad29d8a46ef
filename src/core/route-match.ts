import type { RouteRule } from './values.js'

/**
 * Matching a request against `"METHOD /path/pattern"` rules, shared by admission (the profile's allow-list), the
 * micro-cache, pacing and callers (issue 22), so every rule means the same thing wherever it is written.
 */

/** The methods PROXY_READ_ONLY (and a caller's `readOnly`) forwards. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Headers that ask a server to act on another method or URL than the one a rule judged. */
export const OVERRIDE_HEADERS: readonly string[] = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url']

const NORMALISE_ROUNDS = 3

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

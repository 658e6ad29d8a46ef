/**
 * The routing table (issue 11): which named upstream serves a path. CXone's API families live on three hosts
 * (CXONE.md, "API families and their hosts"): `api` (api_endpoint), `ui` (ui_endpoint, UserHub) and `digital`
 * (https://api-de-{area}.{domain}, Digital Engagement). A config file's `upstreams` entries come first, then the
 * defaults; the first prefix that matches wins; anything else goes to `api`.
 */

/** The upstreams every tenant has, found by discovery or set by these variables. */
export const NAMED_UPSTREAMS = ['api', 'ui', 'digital'] as const
export type NamedUpstream = typeof NAMED_UPSTREAMS[number]

/** The setting that sets each named upstream statically (CXONE_API_URL, CXONE_UI_URL, CXONE_DIGITAL_URL). */
export const UPSTREAM_SETTINGS = { api: 'apiUrl', ui: 'uiUrl', digital: 'digitalUrl' } as const satisfies Record<NamedUpstream, string>

/** How a setting is named to the operator: its variable for the default profile, `profiles.<name>.<key>` for another. */
export type SettingNamer = (key: 'issuer' | 'tokenUrl' | typeof UPSTREAM_SETTINGS[NamedUpstream]) => string

/** One entry as written in proxy.config.json: `upstream` is a named upstream or an explicit URL's origin. */
export interface UpstreamRoute {
  readonly prefix: string
  readonly upstream: string
}

/** Where the defaults come from: NICE's agent SDK builds these families on these bases (CXONE.md). */
export const DEFAULT_UPSTREAM_ROUTES: readonly UpstreamRoute[] = Object.freeze([
  { prefix: '/dfo/', upstream: 'digital' },
  { prefix: '/engager/', upstream: 'digital' },
  { prefix: '/business-data-manager/', upstream: 'ui' }
])

export interface RoutingTable {
  /** Configured entries first, then the defaults: the order in which they are tried. */
  readonly entries: readonly UpstreamRoute[]
  /** Every upstream the table can send to: the named ones and the explicit origins. */
  readonly upstreams: readonly string[]
  /** The upstream for a raw path (no query): the first whole-segment, case-insensitive prefix match, else `api`. */
  route: (path: string) => string
  /** The longest prefix, in bytes: how much of a URL's path decides its upstream. */
  readonly longestPrefix: number
}

/** True for a named upstream; anything else in a table entry is an explicit origin. */
export function isNamedUpstream (upstream: string): upstream is NamedUpstream {
  return (NAMED_UPSTREAMS as readonly string[]).includes(upstream)
}

export function compileRouting (configured: readonly UpstreamRoute[]): RoutingTable {
  const entries = [...configured, ...DEFAULT_UPSTREAM_ROUTES]
  // A prefix is compared as whole segments: `/dfo/` and `/dfo` both mean the segment `dfo`.
  const compiled = entries.map((e) => ({ stem: e.prefix.replace(/\/+$/, '').toLowerCase(), upstream: e.upstream }))
  const upstreams = [...new Set<string>(['api', ...entries.map((e) => e.upstream)])]
  const longest = Math.max(0, ...compiled.map((c) => c.stem.length)) + 1
  return {
    entries,
    upstreams,
    longestPrefix: longest,
    route: (path) => {
      // Only the path's first bytes decide: they are lower-cased once, not the whole path, not once per entry.
      const head = path.slice(0, longest).toLowerCase()
      for (const c of compiled) {
        if (!head.startsWith(c.stem)) continue
        const next = head.charCodeAt(c.stem.length)
        if (head.length === c.stem.length || next === 0x2f) return c.upstream
      }
      return 'api'
    }
  }
}

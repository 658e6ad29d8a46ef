import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

/** RFC 9110 §7.6.1 connection-specific fields, plus the proxy's own and the caller's credentials. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings'
])

/** Never forwarded upstream: the caller's credentials and cookies (CXone takes only the bearer), the proxy's key, and routing hints. */
const DROPPED_REQUEST = new Set([
  // expect: Node already answered the caller's 100-continue; undici refuses to send the header.
  ...HOP_BY_HOP, 'host', 'authorization', 'x-proxy-key', 'cookie', 'expect', 'forwarded', 'x-forwarded-for',
  'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip'
])

const NONE: readonly string[] = []
const KEEP_ALIVE: readonly string[] = ['keep-alive']
const CLOSE: readonly string[] = ['close']

/** The fields a Connection header names; its usual values without a parse. */
function connectionListed (value: string | string[] | number | undefined): readonly string[] {
  if (typeof value !== 'string') return NONE
  if (value === 'keep-alive') return KEEP_ALIVE
  if (value === 'close') return CLOSE
  return value.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/**
 * The headers sent upstream: the caller's end-to-end headers, minus credentials and hop-by-hop fields
 * (and any named in Connection), plus the bearer, the upstream Host, and Accept when the caller sent none.
 */
export function upstreamRequestHeaders (
  incoming: IncomingHttpHeaders,
  bearer: string,
  host: string,
  requestId: string
): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection)
  const out: Record<string, string | string[]> = {}
  for (const name in incoming) {
    if (DROPPED_REQUEST.has(name) || (listed.length > 0 && listed.includes(name))) continue
    const value = incoming[name]
    if (value !== undefined) out[name] = value
  }
  out.host = host
  out.authorization = `Bearer ${bearer}`
  out['x-request-id'] = requestId
  // Without it CXone may answer "No known way to render data". curl and requests send a bare */*,
  // which accepts JSON too: ask for JSON explicitly.
  if (out.accept === undefined || out.accept === '*/*') out.accept = 'application/json'
  return out
}

/** Response headers that name URLs, rewritten like links in a body: `location` and `content-location` hold one. */
const LINK_HEADERS: ReadonlyMap<string, 'url' | 'links'> = new Map([['location', 'url'], ['content-location', 'url'], ['link', 'links']])

/** Rewrites one URL (`url`) or a Link header's list (`links`). */
export type LinkRewrite = (value: string, kind: 'url' | 'links') => string

/**
 * The upstream's response headers minus hop-by-hop fields (and any named in its Connection), in one scan; with
 * `rewrite`, Location, Content-Location and Link rewritten on the way.
 */
export function downstreamResponseHeaders (incoming: IncomingHttpHeaders | OutgoingHttpHeaders, rewrite?: LinkRewrite): OutgoingHttpHeaders {
  const listed = connectionListed(incoming.connection as string | undefined)
  const out: OutgoingHttpHeaders = {}
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || (listed.length > 0 && listed.includes(name))) continue
    const value = incoming[name]
    const kind = LINK_HEADERS.get(name)
    out[name] = kind !== undefined && rewrite !== undefined && typeof value === 'string' ? rewrite(value, kind) : value
  }
  return out
}

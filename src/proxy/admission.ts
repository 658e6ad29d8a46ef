/**
 * Admission: every check a request meets before anything is forwarded, in the order it meets them.
 *
 *   1. target       origin-form only; no dot segments, encoded slashes, fragments or broken escapes
 *   2. headers      not too many, one Host
 *   3. Host         a name of the proxy's (DNS rebinding), with a real port
 *   4. Origin/CORS  browsers only from PROXY_CORS_ORIGINS; preflights answered here
 *   5. inbound key  X-Proxy-Key when PROXY_API_KEYS are set; with named callers (issue 22), which caller it is
 *   5b. placeholder with PROXY_LOCAL_AUTH, a placeholder bearer is ours, this profile's and alive (issue 23)
 *   6. route        PROXY_READ_ONLY and the "routes" allow-list, on the path a server could act on
 *   7. body limit   a declared Content-Length over PROXY_MAX_BODY_BYTES (chunked bodies: body.ts)
 *
 * Once the body has arrived, the forwarding pipeline (pipeline.ts) takes over. Steps 1–7 are pure functions of the request head and the compiled rules; each throws a ProxyError.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Settings } from '../core/config.js'
import { indexCallers, type CallerIndex, type CallerPolicy } from '../core/caller-policy.js'
import type { CallerSet } from '../core/callers.js'
import { ProxyError } from '../core/errors.js'
import { isLoopbackHost } from '../core/net.js'
import { compileRoute, pathOf, serverView } from '../core/paths.js'
import { DEFAULT_PROFILE, settingName } from '../core/settings.js'
import { verifyPlaceholder } from '../token/placeholder.js'
import { whichCaller, type Connection } from './admission-callers.js'
import { LOCAL_AUTH_PATHS } from './local-auth.js'

/** What admission reads of a request: plain data, so each step can be tested with a table. */
export interface RequestHead {
  readonly method: string
  /** The raw request target, as received. */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** Node's flat [name, value, name, value…] list: duplicates and the count are visible only here. */
  readonly rawHeaders: readonly string[]
}

/** The rules, compiled once from the settings. */
export interface AdmissionRules {
  readonly hostNames: ReadonlySet<string>
  readonly publicOrigin: string | undefined
  readonly corsOrigins: ReadonlySet<string>
  readonly keyDigests: readonly Buffer[]
  readonly readOnly: boolean
  /** What a read-only refusal names: PROXY_READ_ONLY, or profiles.<name>.readOnly. */
  readonly readOnlyName: string
  readonly routes: ReadonlyArray<(method: string, path: string) => boolean>
  readonly maxBodyBytes: number
  readonly maxHeaderCount: number
  /** issue 23: placeholders are judged (PROXY_LOCAL_AUTH), and the local auth paths are not forwarded. */
  readonly placeholders: PlaceholderRules | undefined
  /** issue 22: the profile's named callers, compiled; absent, the profile behaves as before callers. */
  readonly callers: CallerIndex | undefined
}

/** What judging a placeholder needs: the proxy's key, this listener's profile, the time. */
export interface PlaceholderRules {
  readonly key: Buffer
  readonly profile: string
  readonly now: () => number
}

/** What admission decided about CORS: the headers to add, and whether the request was a preflight it answers. */
export interface Admitted {
  readonly cors: Readonly<Record<string, string>> | undefined
  readonly preflight: boolean
  /** The caller a valid placeholder names (issue 22's callers read it). */
  readonly caller?: string | undefined
  /** issue 22: the named caller recognised; absent without callers, or when shadow mode let an unknown call in. */
  readonly policy?: CallerPolicy | undefined
  /** issue 22, shadow mode: the refusal recognition would have made. */
  readonly wouldRefuse?: ProxyError | undefined
}

const OPEN_PATHS = new Set(['/_proxy/healthz', '/_proxy/readyz'])
/** Sec-Fetch-Site values a browser sends for the proxy's own pages and for an address the user typed. */
const OWN_FETCH_SITES = new Set(['same-origin', 'none'])
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const HOST_HEADER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/
/** A whole segment that is "." or "..", raw or percent-encoded (one scan of the path, no split). */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i
const ENCODED_SLASH = /%(?:2f|5c)/i
const BAD_PERCENT = /%(?![0-9a-f]{2})/i
/** Headers that ask a server to act on another method or URL than the one admission judged. */
const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url']
const MAX_PORT = 65_535
export const CORS_EXPOSED = 'x-request-id, proxy-status, retry-after'

/** Runs steps 1–7 in order. Throws the first refusal. `arrival` says how the connection came (named callers). */
export function admit (head: RequestHead, rules: AdmissionRules, arrival?: Connection): Admitted {
  checkTarget(head.url)
  checkHeaders(head, rules)
  checkHost(head.headers.host, rules)
  const cors = checkOrigin(head, rules)
  const preflight = cors !== undefined && head.method === 'OPTIONS' && head.headers['access-control-request-method'] !== undefined
  if (preflight) return { cors: { ...cors, ...preflightHeaders(rules) }, preflight }
  const path = pathOf(head.url)
  // The local auth endpoints are answered by the proxy, never forwarded: route rules are about what is forwarded,
  // and a stale bearer a client sends along to its token endpoint must not stop it getting a new one.
  const local = rules.placeholders !== undefined && LOCAL_AUTH_PATHS.has(path)
  const named = rules.callers === undefined ? undefined : whichCaller(head.headers, OPEN_PATHS.has(path) || local, rules.placeholders !== undefined, rules.callers, arrival)
  if (named === undefined) checkKey(path, head.headers['x-proxy-key'], rules)
  else if (named.policy !== undefined) arrival?.recognised?.(named.policy)
  const caller = local ? undefined : checkPlaceholder(head.headers.authorization, rules)
  // A placeholder names the caller whose key got it (issue 23): that caller, whatever connection it came by.
  const byPlaceholder = caller === undefined ? undefined : rules.callers?.policies.get(caller)
  if (byPlaceholder !== undefined) arrival?.recognised?.(byPlaceholder)
  else if (named?.refused !== undefined) throw named.refused
  if (!path.startsWith('/_proxy/') && !local) checkRoute(head, path, rules)
  checkBodyLimit(head.headers['content-length'], rules)
  if (named === undefined) return { cors, preflight, caller }
  return { cors, preflight, caller, policy: byPlaceholder ?? named.policy, wouldRefuse: byPlaceholder === undefined ? named.wouldRefuse : undefined }
}

/** 1. Only origin-form (`/path?query`) passes, and only a path that cannot be read two ways. */
export function checkTarget (rawUrl: string): void {
  if (rawUrl.charCodeAt(0) !== 47 /* / */ || rawUrl.charCodeAt(1) === 47) {
    throw new ProxyError('bad_request', 'the request target must be a path starting with a single "/" (absolute-form and "//" targets are refused)')
  }
  if (rawUrl.includes('#')) {
    throw new ProxyError('bad_request', 'the request target contains a fragment ("#"): fragments are never sent to a server; remove it, or encode it as %23 if it is data')
  }
  const path = pathOf(rawUrl)
  if (path.includes('\\') || ENCODED_SLASH.test(path)) {
    throw new ProxyError('bad_request', 'the path contains a backslash or an encoded slash (%2F, %5C): send plain "/" separators')
  }
  if (BAD_PERCENT.test(rawUrl)) {
    throw new ProxyError('bad_request', 'the request target has a malformed percent-escape: encode "%" as %25')
  }
  if (path.includes('%') && !decodes(path)) {
    throw new ProxyError('bad_request', 'the path\'s percent-escapes are not UTF-8 (%FF, say): percent-encode the UTF-8 bytes of each character')
  }
  if (DOT_SEGMENT.test(path)) {
    throw new ProxyError('bad_request', 'the path contains a "." or ".." segment (raw or percent-encoded): send the resolved path')
  }
}

function decodes (path: string): boolean {
  try {
    decodeURIComponent(path)
    return true
  } catch {
    return false
  }
}

/** 2. A bounded number of header lines (Node would drop the excess silently), and at most one Host. */
export function checkHeaders (head: RequestHead, rules: AdmissionRules): void {
  const count = head.rawHeaders.length / 2
  if (count > rules.maxHeaderCount) {
    throw new ProxyError('request_header_fields_too_large', `the request has ${count} header lines; the proxy accepts at most ${rules.maxHeaderCount} (PROXY_MAX_HEADER_COUNT)`)
  }
  let hosts = 0
  for (let i = 0; i < head.rawHeaders.length; i += 2) {
    if ((head.rawHeaders[i] as string).length === 4 && (head.rawHeaders[i] as string).toLowerCase() === 'host') hosts++
  }
  // None is refused by the Host step (403); more than one is malformed.
  if (hosts > 1) {
    throw new ProxyError('bad_request', `the request has ${hosts} Host headers; HTTP/1.1 needs exactly one (RFC 9112 §3.2)`)
  }
}

/** 3. The Host is one of the proxy's names (loopback, PROXY_ALLOWED_HOSTS, PROXY_PUBLIC_URL), with a valid port. */
export function checkHost (host: string | undefined, rules: AdmissionRules): void {
  // Nearly every request names the same Host as the last one that passed: no parse for it.
  if (host !== undefined && host === lastHost.name && rules === lastHost.rules) return
  const m = host === undefined ? null : HOST_HEADER.exec(host)
  const port = m?.[2] === undefined ? undefined : Number(m[2])
  const name = (m?.[1] ?? '').toLowerCase()
  const known = m !== null && (isLoopbackHost(name) || rules.hostNames.has(name) || rules.hostNames.has(name.replace(/^\[(.*)\]$/, '$1')))
  if (!known || (port !== undefined && (port < 1 || port > MAX_PORT))) {
    throw new ProxyError('forbidden_host', `Host "${String(host ?? '').slice(0, 100)}" is not one of the proxy's names: call it by a loopback address or add the name to PROXY_ALLOWED_HOSTS`)
  }
  lastHost = { name: host as string, rules }
}
/** The last Host that passed, under the rules it passed (a reload compiles new rules: it is checked again). */
let lastHost: { name: string, rules: AdmissionRules | undefined } = { name: '', rules: undefined }

/** 4. Browsers: an allowed origin gets CORS headers; any other cross-site caller is refused. */
export function checkOrigin (head: RequestHead, rules: AdmissionRules): Record<string, string> | undefined {
  const origin = head.headers.origin
  if (typeof origin === 'string' && rules.corsOrigins.has(origin)) {
    return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': CORS_EXPOSED }
  }
  const own = rules.publicOrigin ?? `http://${head.headers.host ?? ''}`
  // A page on another loopback port is "same-site" (ports do not count) and its <img> or no-cors GET sends no
  // Origin: only the proxy's own pages (same-origin) and what the user typed (none) are not someone else's page.
  const site = head.headers['sec-fetch-site']
  if ((origin !== undefined && origin !== own) || (site !== undefined && !OWN_FETCH_SITES.has(String(site)))) {
    if (typeof origin === 'string') throw new ProxyError('cross_site_request', `a browser page at ${origin.slice(0, 100)} may not call the proxy: add its origin to PROXY_CORS_ORIGINS if it should`)
    throw new ProxyError('cross_site_request', `a browser request from another page (Sec-Fetch-Site: ${String(site).slice(0, 20)}) may not call the proxy: a page whose origin is in PROXY_CORS_ORIGINS calls it with fetch in cors mode`)
  }
  return undefined
}

function preflightHeaders (rules: AdmissionRules): Record<string, string> {
  return {
    'access-control-allow-methods': rules.readOnly ? 'GET, HEAD, OPTIONS' : 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers': 'content-type, accept, x-proxy-key, x-request-id',
    'access-control-max-age': '600'
  }
}

/** 5. With PROXY_API_KEYS set, every path but health and readiness needs one of them (constant-time compare). */
export function checkKey (path: string, sent: string | string[] | undefined, rules: AdmissionRules): void {
  if (rules.keyDigests.length === 0 || OPEN_PATHS.has(path)) return
  let ok = false
  if (typeof sent === 'string') {
    const d = digest(sent)
    for (const k of rules.keyDigests) ok = timingSafeEqual(d, k) || ok
  }
  if (!ok) throw new ProxyError('proxy_auth_required', 'this proxy needs a key: send one of PROXY_API_KEYS as the X-Proxy-Key header')
}

/**
 * 5b. With PROXY_LOCAL_AUTH, a bearer carrying the placeholder header must be ours, this profile's and alive: else
 * 401 in CXone's shape, so the client's own refresh-on-401 runs. Any other bearer (a real CXone token included) is
 * replaced on forwarding like every inbound Authorization.
 */
export function checkPlaceholder (authorization: string | undefined, rules: AdmissionRules): string | undefined {
  const p = rules.placeholders
  if (p === undefined || authorization === undefined) return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  if (m === null) return undefined
  const v = verifyPlaceholder(m[1] as string, { key: p.key, profile: p.profile, use: 'access', now: p.now() })
  if (v.kind === 'not_ours') return undefined
  if (v.kind === 'valid') return v.claims.caller
  const why = { forged: 'was not signed by this proxy', expired: 'has expired', other_profile: 'was issued for another profile (business unit)', wrong_use: 'is not an access token' }[v.reason]
  throw new ProxyError('placeholder_rejected', `the bearer placeholder ${why}: get a new token from this listener's /auth/token`)
}

/**
 * 6. Read-only mode and the route allow-list. Rules are matched on the path a server could act on (decoded,
 * NFKC-folded, without `;` parameters or empty segments), and headers that ask a server to act on another
 * method or URL are refused while any rule is on.
 */
export function checkRoute (head: RequestHead, path: string, rules: AdmissionRules): void {
  if (!rules.readOnly && rules.routes.length === 0) return
  for (const name of OVERRIDE_HEADERS) {
    if (head.headers[name] !== undefined) {
      throw new ProxyError('forbidden_route', `the ${name} header is refused while PROXY_READ_ONLY or "routes" are on: send the real method and path`)
    }
  }
  const method = head.method
  if (rules.readOnly && !READ_METHODS.has(method)) {
    throw new ProxyError('forbidden_route', `${method} is refused: ${rules.readOnlyName}=true forwards only GET, HEAD and OPTIONS`)
  }
  if (rules.routes.length === 0) return
  const view = serverView(path)
  if (view === undefined || !rules.routes.some((match) => match(method, view))) {
    throw new ProxyError('forbidden_route', `${method} ${path.slice(0, 200)} is not in the config file's "routes" allow-list`)
  }
}

/** 7. A declared body over the limit is refused before a byte of it is read. */
export function checkBodyLimit (contentLength: string | undefined, rules: AdmissionRules): void {
  if (contentLength !== undefined && Number(contentLength) > rules.maxBodyBytes) {
    throw new ProxyError('payload_too_large', `the request body is larger than ${rules.maxBodyBytes} bytes (PROXY_MAX_BODY_BYTES)`)
  }
}

export function compileRules (s: Settings, apiKeys: readonly string[], profile: string = DEFAULT_PROFILE, placeholders?: PlaceholderRules, callers?: CallerSet): AdmissionRules {
  const publicUrl = s.publicUrl === undefined ? undefined : new URL(s.publicUrl)
  return {
    hostNames: new Set<string>([
      ...s.allowedHosts.map((h) => h.toLowerCase()),
      ...(publicUrl !== undefined ? [publicUrl.hostname.toLowerCase()] : []),
      ...[s.host, s.adminHost].filter((h) => h !== '0.0.0.0' && h !== '::').map((h) => h.toLowerCase())
    ]),
    publicOrigin: publicUrl?.origin,
    corsOrigins: new Set(s.corsOrigins),
    keyDigests: apiKeys.map(digest),
    readOnly: s.readOnly,
    readOnlyName: settingName(profile, 'readOnly'),
    routes: s.routes.map(compileRoute),
    maxBodyBytes: s.maxBodyBytes,
    maxHeaderCount: s.maxHeaderCount,
    placeholders: s.localAuth ? placeholders : undefined,
    callers: callers === undefined ? undefined : indexCallers(callers, { readOnly: s.readOnly, routes: s.routes })
  }
}

/** The proxy's own origin for rewritten links: PROXY_PUBLIC_URL, or the Host the caller used. */
export function publicOriginOf (rules: AdmissionRules, host: string | undefined): string {
  return rules.publicOrigin ?? `http://${host ?? ''}`
}

function digest (key: string): Buffer {
  return createHash('sha256').update(key).digest()
}

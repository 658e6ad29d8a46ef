import { Transform, type TransformCallback } from 'node:stream'

/**
 * Rewrites absolute URLs on the API origin to the proxy's origin, so a script that follows
 * `_links.next` stays behind the proxy. Works on bytes, in a stream, with bounded memory: only a
 * needle's length minus one is carried between chunks.
 */

// A match counts only when the origin ends there: `https://api.example.com.evil` is another host.
const TERMINATORS = new Set([...'/"?#\\\' <>,)]}'].map((c) => c.charCodeAt(0)))

export interface Rewrite {
  needles: Buffer[]
  replacements: Buffer[]
  /** Per needle: the upstreams its origin serves; its URL is rewritten only when its path routes back to one. */
  owners: Array<readonly string[]>
  /** Per needle: written with JSON-escaped slashes (`https:\/\/host`), so its path is too. */
  escaped: boolean[]
  /** The routing table's choice for a path; without it every URL on the origins is rewritten. */
  route: ((path: string) => string) | undefined
  /** Path bytes read after an origin to route it (escaped slashes take two). */
  lookahead: number
  /** Longest needle, plus the path looked at, plus one byte to see the terminator. */
  window: number
}

/** An origin whose URLs may be rewritten, and the upstreams it serves. */
export interface KnownOrigin {
  origin: string
  upstreams: readonly string[]
}

/** How the routing decides: the table's choice for a path, and how much of a path it looks at. */
export interface RouteBack {
  route: (path: string) => string
  longestPrefix: number
}

/**
 * The byte patterns for origins: plain and with JSON-escaped slashes (`https:\/\/host`), each with the
 * scheme as written by the API and upper-cased (`HTTPS://host`: schemes are case-insensitive, RFC 3986 §3.1).
 * With `routeBack`, a URL is rewritten only when the routing table sends its path back to its origin's upstream.
 */
export function buildRewrite (from: string | readonly KnownOrigin[], toOrigin: string, routeBack?: RouteBack): Rewrite {
  const origins: readonly KnownOrigin[] = typeof from === 'string' ? [{ origin: from, upstreams: [] }] : from
  const escape = (s: string): string => s.replaceAll('/', '\\/')
  const rw: Rewrite = { needles: [], replacements: [], owners: [], escaped: [], route: routeBack?.route, lookahead: 0, window: 0 }
  for (const { origin, upstreams } of origins) {
    const colon = origin.indexOf(':')
    const upper = origin.slice(0, colon).toUpperCase() + origin.slice(colon)
    for (const f of upper === origin ? [origin] : [origin, upper]) {
      rw.needles.push(Buffer.from(f), Buffer.from(escape(f)))
      rw.replacements.push(Buffer.from(toOrigin), Buffer.from(escape(toOrigin)))
      rw.owners.push(upstreams, upstreams)
      rw.escaped.push(false, true)
    }
  }
  rw.lookahead = routeBack === undefined ? 0 : 2 * routeBack.longestPrefix
  rw.window = Math.max(...rw.needles.map((n) => n.length)) + rw.lookahead + 1
  return rw
}

// Where a URL's path ends, for routing it: a query, a fragment, or the end of the string it sits in.
const PATH_ENDS = new Set([...'?#"\' <>,)]}\t\r\n'].map((c) => c.charCodeAt(0)))

/**
 * Whether the URL after a match routes back to its origin's upstream: true, false, or undefined when the
 * buffer ends before enough of its path was seen (wait for more input).
 */
function routesBack (buf: Buffer, end: number, rw: Rewrite, needle: number, final: boolean): boolean | undefined {
  if (rw.route === undefined) return true
  const escaped = rw.escaped[needle] as boolean
  let path = ''
  let i = end
  const limit = end + rw.lookahead
  for (; i < buf.length && i < limit; i++) {
    const c = buf[i] as number
    if (c === 0x5c) {
      // JSON: `\/` is a slash; any other escape ends what routing needs to see.
      if (escaped && buf[i + 1] === 0x2f) {
        path += '/'
        i++
        continue
      }
      if (escaped && i + 1 >= buf.length && !final) return undefined
      break
    }
    if (PATH_ENDS.has(c)) break
    path += String.fromCharCode(c)
  }
  if (i >= buf.length && i < limit && !final) return undefined
  return (rw.owners[needle] as readonly string[]).includes(rw.route(path === '' ? '/' : path))
}

/** Rewrites every API URL in a header value (Link: `<https://api…/x>; rel="next"`, Content-Location). */
export function rewriteHeaderValue (value: string, rw: Rewrite): string {
  const buf = Buffer.from(value)
  if (!containsOrigin(buf, rw)) return value
  return Buffer.concat(rewriteChunk(buf, rw, true).out).toString()
}

/** True if the bytes contain a rewritable URL (used to skip work on bodies that need none). */
export function containsOrigin (buf: Buffer, rw: Rewrite): boolean {
  // Every needle is a URL's origin, plain or JSON-escaped: a body with neither "://" nor ":\/\/" holds none of them
  // (one or two scans instead of one per needle).
  if (buf.indexOf(SCHEME_END) === -1 && buf.indexOf(SCHEME_END_ESCAPED) === -1) return false
  for (const needle of rw.needles) {
    if (buf.indexOf(needle) !== -1) return true
  }
  return false
}

const SCHEME_END = Buffer.from('://')
const SCHEME_END_ESCAPED = Buffer.from(':\\/\\/')

interface Match { at: number, needle: number }

/**
 * The next match at or after `from`. `seen[i]` caches where needle i next occurs (-1: nowhere), so each needle
 * is searched again only once passed: the scan of a buffer stays linear however many links it holds.
 */
function nextMatch (buf: Buffer, from: number, rw: Rewrite, seen: number[], work: { searches: number }): Match | undefined {
  let best: Match | undefined
  for (let i = 0; i < rw.needles.length; i++) {
    let at = seen[i] as number
    if (at !== -1 && at < from) {
      at = buf.indexOf(rw.needles[i] as Buffer, from)
      seen[i] = at
      work.searches++
    }
    // At one position the longer needle wins: `http://host:4000` must not hide `http://host:40001`.
    if (at !== -1 && (best === undefined || at < best.at || (at === best.at && (rw.needles[i] as Buffer).length > (rw.needles[best.needle] as Buffer).length))) best = { at, needle: i }
  }
  return best
}

/**
 * Replaces in `buf`; returns the output and how many trailing bytes must wait for more input
 * (a possible match cut by the chunk boundary). With `final`, nothing waits. `searches` counts the scans of the
 * buffer, which stay linear in the matches.
 */
export function rewriteChunk (buf: Buffer, rw: Rewrite, final: boolean): { out: Buffer[], keep: number, searches: number } {
  const out: Buffer[] = []
  let pos = 0
  let from = 0
  const seen = rw.needles.map(() => -2)
  const work = { searches: 0 }
  for (;;) {
    const m = nextMatch(buf, from, rw, seen, work)
    if (m === undefined) break
    const end = m.at + (rw.needles[m.needle] as Buffer).length
    if (end === buf.length && !final) {
      // Cannot see the terminator yet: wait for the next chunk.
      out.push(buf.subarray(pos, m.at))
      return { out, keep: buf.length - m.at, searches: work.searches }
    }
    if (end < buf.length && !TERMINATORS.has(buf[end] as number)) {
      from = m.at + 1
      continue
    }
    const back = routesBack(buf, end, rw, m.needle, final)
    if (back === undefined) {
      // The path is cut by the chunk boundary: wait for the next chunk to route it.
      out.push(buf.subarray(pos, m.at))
      return { out, keep: buf.length - m.at, searches: work.searches }
    }
    if (!back) {
      from = end
      continue
    }
    out.push(buf.subarray(pos, m.at), rw.replacements[m.needle] as Buffer)
    pos = end
    from = end
  }
  const keep = final ? 0 : Math.min(buf.length - pos, rw.window - 1)
  out.push(buf.subarray(pos, buf.length - keep))
  return { out, keep, searches: work.searches }
}

/** A chunk at least this large is followed by a turn of the event loop. */
const YIELD_AFTER_BYTES = 16 * 1024

export class LinkRewriter extends Transform {
  readonly #rw: Rewrite
  #carry: Buffer = Buffer.alloc(0)

  constructor (rw: Rewrite) {
    super()
    this.#rw = rw
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const buf = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk])
    const { out, keep } = rewriteChunk(buf, this.#rw, false)
    this.#carry = keep === 0 ? Buffer.alloc(0) : Buffer.from(buf.subarray(buf.length - keep))
    const data = out.length === 1 ? out[0] as Buffer : Buffer.concat(out)
    if (data.length > 0) this.push(data)
    // Large answers yield to the event loop between chunks, so one report never delays other callers.
    if (chunk.length >= YIELD_AFTER_BYTES) setImmediate(cb)
    else cb()
  }

  override _flush (cb: TransformCallback): void {
    if (this.#carry.length > 0) {
      const { out } = rewriteChunk(this.#carry, this.#rw, true)
      this.push(Buffer.concat(out))
    }
    cb()
  }
}

/** Rewrites a Location header value when it points at a known origin and its path routes back there. */
export function rewriteLocation (location: string, rw: Rewrite): string {
  for (let n = 0; n < rw.needles.length; n += 2) {
    const origin = (rw.needles[n] as Buffer).toString()
    // Scheme and host are case-insensitive (RFC 3986 §6.2.2.1): HTTPS://API… is the same origin.
    if (location.slice(0, origin.length).toLowerCase() !== origin.toLowerCase()) continue
    const next = location.charCodeAt(origin.length)
    if (location.length !== origin.length && !TERMINATORS.has(next)) continue
    const rest = location.slice(origin.length)
    if (rw.route !== undefined && !(rw.owners[n] as readonly string[]).includes(rw.route(rest.split(/[?#]/, 1)[0] || '/'))) return location
    return (rw.replacements[n] as Buffer).toString() + rest
  }
  return location
}

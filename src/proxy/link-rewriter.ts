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
  /** Longest needle, plus one byte to see the terminator. */
  window: number
}

/** The byte patterns for an origin: plain, and with JSON-escaped slashes (`https:\/\/host`). */
export function buildRewrite (fromOrigin: string, toOrigin: string): Rewrite {
  const escape = (s: string): string => s.replaceAll('/', '\\/')
  const needles = [Buffer.from(fromOrigin), Buffer.from(escape(fromOrigin))]
  const replacements = [Buffer.from(toOrigin), Buffer.from(escape(toOrigin))]
  return { needles, replacements, window: Math.max(...needles.map((n) => n.length)) + 1 }
}

/** True if the bytes contain a rewritable URL (used to skip work on bodies that need none). */
export function containsOrigin (buf: Buffer, rw: Rewrite): boolean {
  for (const needle of rw.needles) {
    if (buf.indexOf(needle) !== -1) return true
  }
  return false
}

interface Match { at: number, needle: number }

function nextMatch (buf: Buffer, from: number, rw: Rewrite): Match | undefined {
  let best: Match | undefined
  for (let i = 0; i < rw.needles.length; i++) {
    const at = buf.indexOf(rw.needles[i] as Buffer, from)
    if (at !== -1 && (best === undefined || at < best.at)) best = { at, needle: i }
  }
  return best
}

/**
 * Replaces in `buf`; returns the output and how many trailing bytes must wait for more input
 * (a possible match cut by the chunk boundary). With `final`, nothing waits.
 */
export function rewriteChunk (buf: Buffer, rw: Rewrite, final: boolean): { out: Buffer[], keep: number } {
  const out: Buffer[] = []
  let pos = 0
  let from = 0
  for (;;) {
    const m = nextMatch(buf, from, rw)
    if (m === undefined) break
    const end = m.at + (rw.needles[m.needle] as Buffer).length
    if (end === buf.length && !final) {
      // Cannot see the terminator yet: wait for the next chunk.
      out.push(buf.subarray(pos, m.at))
      return { out, keep: buf.length - m.at }
    }
    if (end < buf.length && !TERMINATORS.has(buf[end] as number)) {
      from = m.at + 1
      continue
    }
    out.push(buf.subarray(pos, m.at), rw.replacements[m.needle] as Buffer)
    pos = end
    from = end
  }
  const keep = final ? 0 : Math.min(buf.length - pos, rw.window - 1)
  out.push(buf.subarray(pos, buf.length - keep))
  return { out, keep }
}

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
    cb()
  }

  override _flush (cb: TransformCallback): void {
    if (this.#carry.length > 0) {
      const { out } = rewriteChunk(this.#carry, this.#rw, true)
      this.push(Buffer.concat(out))
    }
    cb()
  }
}

/** Rewrites a Location header value when it points at the API origin. */
export function rewriteLocation (location: string, fromOrigin: string, toOrigin: string): string {
  if (!location.startsWith(fromOrigin)) return location
  const next = location.charCodeAt(fromOrigin.length)
  if (location.length === fromOrigin.length || TERMINATORS.has(next)) return toOrigin + location.slice(fromOrigin.length)
  return location
}

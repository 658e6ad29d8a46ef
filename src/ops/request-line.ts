import pino, { type Logger } from 'pino'
import type { AnsweredRequest } from '../core/answered-request.js'

/** The request line's fields, in the order pino writes them. */
const FIELDS = ['reqId', 'method', 'path', 'status', 'ms', 'upstreamMs', 'token', 'profile', 'upstream', 'quota', 'caller'] as const
export type RequestLine = Pick<AnsweredRequest, typeof FIELDS[number]>
const LEVELS = { debug: 20, info: 30 } as const
/** Printable ASCII but `"` and `\\`: JSON.stringify would write such a string as it is, in quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** A string as JSON: quoted as it is when nothing in it needs escaping (nearly always), else JSON.stringify's. */
function q (v: string): string {
  return PLAIN.test(v) ? `"${v}"` : JSON.stringify(v)
}
const s = pino.symbols

/**
 * Writes the request line as pino would (the same bytes: level, time, the logger's bindings, the fields, msg),
 * through the logger's own destination (so it is flushed at exit like every line), at a fraction of the cost of
 * pino's generic path, which walks and serialises an object per call (issue 26). Only for a logger with nothing
 * that could change the line: no redaction or serializer of one of these fields, no mixin, log formatter,
 * message prefix, stream hook or metadata stream. Otherwise, and for other loggers, pino's own path.
 */
export function requestLineWriter (logger: Logger): (level: 'debug' | 'info', line: RequestLine) => void {
  // `line` may carry more than the line's fields (an AnsweredRequest): pino's path is given the line's own.
  const generic = (level: 'debug' | 'info', line: RequestLine): void => {
    const own: Record<string, unknown> = {}
    for (const f of FIELDS) own[f] = line[f]
    logger[level](own, 'request')
  }
  const l = logger as unknown as Record<symbol, unknown>
  const stringifiers = l[s.stringifiersSym] as Record<string | symbol, unknown>
  const serializers = l[s.serializersSym] as Record<string, unknown>
  const hooks = l[s.hooksSym] as { streamWrite?: unknown }
  const formatters = l[s.formattersSym] as { log?: unknown }
  const stream = l[s.streamSym] as { write: (line: string) => void, [k: symbol]: unknown }
  const plain = FIELDS.every((f) => stringifiers[f] === undefined && serializers[f] === undefined) &&
    stringifiers[s.wildcardFirstSym] === undefined && l[s.mixinSym] === undefined && formatters.log === undefined &&
    hooks.streamWrite === undefined && (l[(s as unknown as Record<string, symbol>).msgPrefixSym as symbol] ?? '') === '' && stream[s.needsMetadataGsym] !== true &&
    l[s.messageKeySym] === 'msg'
  if (!plain) return generic
  const starts = l[s.lsCacheSym] as Record<number, string>
  const time = l[s.timeSym] as () => string
  const end = l[s.endSym] as string
  return (level, line) => {
    const num = LEVELS[level]
    if (num < logger.levelVal) return
    let out = `${starts[num] as string}${time()}${l[s.chindingsSym] as string},"reqId":${q(line.reqId)},"method":${q(line.method)},"path":${q(line.path)},"status":${line.status},"ms":${line.ms}`
    if (line.upstreamMs !== undefined) out += `,"upstreamMs":${line.upstreamMs}`
    if (line.token !== undefined) out += `,"token":${q(line.token)}`
    if (line.profile !== undefined) out += `,"profile":${q(line.profile)}`
    if (line.upstream !== undefined) out += `,"upstream":${q(line.upstream)}`
    if (line.quota !== undefined) out += `,"quota":${q(line.quota)}`
    if (line.caller !== undefined) out += `,"caller":${q(line.caller)}`
    stream.write(`${out},"msg":"request"${end}`)
  }
}

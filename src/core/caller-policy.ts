import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { PRESETS } from './caller-presets.js'
import type { Caller, CallerSet } from './callers.js'
import { ProxyError } from './errors.js'
import { compileRoute, OVERRIDE_HEADERS, READ_METHODS, serverView } from './paths.js'
import { DEFAULT_PROFILE } from './settings.js'
import type { RouteRule } from './settings.js'

/**
 * Recognising a caller and judging its call (issue 22), pure: the request path calls recognise() after the inbound
 * key step and authorise() before the micro-cache or coalescing is consulted, so a caller never reads a shared answer
 * of a route it may not call. Compiled once per configuration (indexCallers), like admission's rules.
 */

type Match = (method: string, path: string) => boolean

/** One caller's rules, compiled; a call must pass the profile's and every one of the caller's. */
export interface CallerPolicy {
  readonly caller: Caller
  readonly readOnly: 'caller' | 'preset' | undefined
  readonly routes: readonly Match[]
  /** The preset's routes, matched on the lower-cased path. */
  readonly presetRoutes: readonly Match[]
  readonly profile: { readonly readOnly: boolean, readonly routes: readonly Match[] }
}

export interface CallerIndex {
  readonly set: CallerSet
  readonly policies: ReadonlyMap<string, CallerPolicy>
  readonly bySocket: ReadonlyMap<string, CallerPolicy>
  readonly digests: ReadonlyArray<{ readonly digest: Buffer, readonly policy: CallerPolicy }>
}

/** How a connection reached the proxy: the X-Proxy-Key sent, the Unix socket it came in on, whether it is loopback. */
export interface Arrival {
  readonly key: string | string[] | undefined
  readonly socketPath: string | undefined
  /** A loopback TCP peer, or the profile's own Unix socket. */
  readonly loopback: boolean
}

export type Recognised =
  | { readonly ok: true, readonly policy: CallerPolicy }
  /** `enforce` false: shadow mode (PROXY_CALLERS_ENFORCE=false): log and count the refusal, forward the call. */
  | { readonly ok: false, readonly error: ProxyError, readonly enforce: boolean }

export type Decision =
  | { readonly ok: true }
  | { readonly ok: false, readonly error: ProxyError, readonly enforce: boolean }

const ALLOWED: Decision = Object.freeze({ ok: true })

function digest (key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

/** Compiles a profile's callers with its own rules (the profile's `readOnly` and `routes`). */
export function indexCallers (set: CallerSet, profile: { readOnly: boolean, routes: readonly RouteRule[] }): CallerIndex {
  const own = { readOnly: profile.readOnly, routes: profile.routes.map(compileRoute) }
  const policies = new Map<string, CallerPolicy>()
  for (const c of set.callers) {
    const preset = c.preset === undefined ? undefined : PRESETS[c.preset]
    policies.set(c.name, Object.freeze({
      caller: c,
      readOnly: c.readOnly ? 'caller' : preset?.readOnly === true ? 'preset' : undefined,
      routes: c.routes.map(compileRoute),
      presetRoutes: (preset?.routes ?? []).map((r) => compileRoute({ method: r.method, pattern: r.pattern.toLowerCase() })),
      profile: own
    }))
  }
  const all = [...policies.values()]
  return {
    set,
    policies,
    bySocket: new Map(all.filter((p) => p.caller.socket !== undefined).map((p) => [p.caller.socket as string, p])),
    digests: all.flatMap((p) => p.caller.keys.map((k) => ({ digest: digest(k), policy: p })))
  }
}

function unidentified (index: CallerIndex, message: string): Recognised {
  return { ok: false, error: new ProxyError('proxy_auth_required', message), enforce: index.set.refuseUnidentified }
}

/** Which caller a call is: by its socket, else its key (compared in constant time), else the loopback caller. */
export function recognise (index: CallerIndex, arrival: Arrival): Recognised {
  const sent = arrival.key
  if (Array.isArray(sent)) return unidentified(index, 'the request has more than one X-Proxy-Key header: send one')
  let byKey: CallerPolicy | undefined
  if (sent !== undefined) {
    const d = digest(sent)
    for (const k of index.digests) if (timingSafeEqual(d, k.digest)) byKey = k.policy
  }
  const bySocket = arrival.socketPath === undefined ? undefined : index.bySocket.get(arrival.socketPath)
  if (bySocket !== undefined) {
    if (sent === undefined || byKey === bySocket) return { ok: true, policy: bySocket }
    const whose = byKey === undefined ? 'belongs to no caller' : `is caller "${byKey.caller.name}"'s`
    return unidentified(index, `this socket is caller "${bySocket.caller.name}"'s, and the X-Proxy-Key sent ${whose}: send no key through it, or that caller's own`)
  }
  if (byKey !== undefined) return { ok: true, policy: byKey }
  if (sent !== undefined) return unidentified(index, 'the X-Proxy-Key sent belongs to no caller of this proxy: send your caller\'s key (its PROXY_CALLER_<NAME>_KEY), or ask the operator for one')
  const loopback = index.set.loopback
  if (arrival.loopback && loopback !== undefined) return { ok: true, policy: index.policies.get(loopback.name) as CallerPolicy }
  return unidentified(index, 'this proxy serves named callers only: send your caller\'s key as the X-Proxy-Key header, or call through your caller\'s socket')
}

/** Where a caller's field is in the config file: `callers.<name>.<field>`, or `profiles.<p>.callers.<name>.<field>`. */
export function callerField (caller: Caller, field: string): string {
  return `${caller.profile === DEFAULT_PROFILE ? '' : `profiles.${caller.profile}.`}callers.${caller.name}.${field}`
}

function refuse (p: CallerPolicy, message: string): Decision {
  return { ok: false, error: new ProxyError('caller_forbidden', `caller "${p.caller.name}" ${message}`), enforce: p.caller.enforce }
}

/**
 * Whether the caller may make this call, by its own rules (the profile's are admission's step 6, already passed on the
 * request path). `path` is the raw path without the query; the rules see it as a server would (serverView).
 */
export function authorise (p: CallerPolicy, method: string, path: string, headers?: IncomingHttpHeaders): Decision {
  const ruled = p.readOnly !== undefined || p.routes.length > 0 || p.presetRoutes.length > 0
  if (!ruled) return ALLOWED
  if (headers !== undefined) {
    for (const name of OVERRIDE_HEADERS) {
      if (headers[name] !== undefined) return refuse(p, `may not send the ${name} header while its policy limits methods or routes: send the real method and path`)
    }
  }
  if (p.readOnly !== undefined && !READ_METHODS.has(method)) {
    return p.readOnly === 'caller'
      ? refuse(p, `may not call ${method}: its ${callerField(p.caller, 'readOnly')} is true (GET, HEAD and OPTIONS only); set it to false if it should write`)
      : refuse(p, `may not call ${method}: its ${callerField(p.caller, 'preset')} "read-only" allows GET, HEAD and OPTIONS only; choose another preset if it should write`)
  }
  if (p.routes.length === 0 && p.presetRoutes.length === 0) return ALLOWED
  const view = serverView(path)
  const shown = `${method} ${path.slice(0, 200)}`
  if (p.routes.length > 0 && (view === undefined || !p.routes.some((m) => m(method, view)))) {
    return refuse(p, `may not call ${shown}: it is not in ${callerField(p.caller, 'routes')}; add a rule such as "${method} ${path.slice(0, 200)}" there if it should`)
  }
  if (p.presetRoutes.length > 0) {
    const lower = view?.toLowerCase()
    if (lower === undefined || !p.presetRoutes.some((m) => m(method, lower))) {
      return refuse(p, `may not call ${shown}: it is not among the routes of its ${callerField(p.caller, 'preset')} "${p.caller.preset ?? ''}" (docs/callers.md#presets); remove the preset and list its routes in "routes" if it should`)
    }
  }
  return ALLOWED
}


import { PRESETS, type PresetName } from './caller-presets.js'
import { READ_METHODS } from './paths.js'
import type { RouteRule } from './settings.js'

/**
 * Whether a caller's rule reaches beyond its profile's (issue 22). Such a rule is not an error, since a call must pass
 * the profile's rules as well and can never exceed them, but it says the operator expects more than the caller will
 * get: `check` reports it. Containment of patterns is judged soundly: a rule called covered is covered; a rule covered
 * only by several of the profile's rules together is reported too.
 */

type Token = string | typeof STAR | typeof GLOBSTAR | typeof OPTREST
const STAR = Symbol('*')
const GLOBSTAR = Symbol('**')
/** A trailing `/**`: nothing, or `/` and any rest (admission's compileRoute makes it `(?:/.*)?`). */
const OPTREST = Symbol('/**')

function tokens (pattern: string): Token[] {
  const segments = pattern.split('/')
  const out: Token[] = []
  for (const [i, seg] of segments.entries()) {
    if (i === segments.length - 1 && seg === '**' && i > 0) {
      out.push(OPTREST)
      return out
    }
    if (i > 0) out.push('/')
    if (seg === '**') {
      out.push(GLOBSTAR)
      continue
    }
    for (const [k, part] of seg.split('*').entries()) {
      if (k > 0) out.push(STAR)
      out.push(...part)
    }
  }
  return out
}

/** True when every path `inner` matches, `outer` matches too. */
export function patternCovers (outer: string, inner: string): boolean {
  const q = tokens(outer)
  const r = tokens(inner)
  const memo = new Map<number, boolean>()
  const covers = (i: number, j: number): boolean => {
    const at = i * (r.length + 1) + j
    const known = memo.get(at)
    if (known !== undefined) return known
    const result = step(i, j)
    memo.set(at, result)
    return result
  }
  const step = (i: number, j: number): boolean => {
    if (i === q.length) return j === r.length
    const t = q[i]
    const next = r[j]
    if (t === GLOBSTAR) return covers(i + 1, j) || (j < r.length && covers(i, j + 1))
    if (t === STAR) return covers(i + 1, j) || (j < r.length && (next === STAR || (typeof next === 'string' && next !== '/')) && covers(i, j + 1))
    if (t === OPTREST) return j === r.length || next === '/' || (next === OPTREST && j + 1 === r.length)
    return typeof next === 'string' && next === t && covers(i + 1, j + 1)
  }
  return covers(0, 0)
}

function methodCovers (outer: string, inner: string): boolean {
  return outer === '*' || outer === inner
}

function ruleCovers (outer: RouteRule, inner: RouteRule, fold: boolean): boolean {
  const f = (s: string): string => fold ? s.toLowerCase() : s
  return methodCovers(outer.method, inner.method) && patternCovers(f(outer.pattern), f(inner.pattern))
}

export interface CallerRules {
  readonly readOnly: boolean
  readonly routes: readonly RouteRule[]
  readonly preset: PresetName | undefined
}

/** What in a caller's rules reaches beyond its profile's `readOnly` and `routes`, one sentence each. */
export function widerRules (caller: CallerRules, profile: { readOnly: boolean, routes: readonly RouteRule[] }): string[] {
  const preset = caller.preset === undefined ? undefined : PRESETS[caller.preset]
  const callerReadOnly = caller.readOnly || preset?.readOnly === true
  const own = caller.routes.map((rule, i) => ({ rule, name: `"routes"[${i}] "${rule.method} ${rule.pattern}"`, fold: false }))
  const fromPreset = (preset?.routes ?? []).map((rule) => ({ rule, name: `preset "${caller.preset ?? ''}"'s "${rule.method} ${rule.pattern}"`, fold: true }))
  const found: string[] = []
  for (const { rule, name, fold } of [...own, ...fromPreset]) {
    if (profile.readOnly && !callerReadOnly && !READ_METHODS.has(rule.method)) {
      found.push(`${name} allows ${rule.method === '*' ? 'every method' : rule.method}, but the profile is read-only ("readOnly"): those calls are refused anyway; narrow the caller's rule to GET, or lift the profile's "readOnly"`)
    } else if (profile.routes.length > 0 && !profile.routes.some((p) => ruleCovers(p, rule, fold))) {
      found.push(`${name} is wider than its profile's "routes" (no rule of the profile covers all of it): what lies outside them is refused anyway; narrow the caller's rule, or widen the profile's "routes"`)
    }
  }
  return found
}

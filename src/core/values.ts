import { ConfigError } from './errors.js'
import { isLoopbackHost, isSafeOrigin } from './net.js'
import { collect, ConfigProblems } from './problems.js'
import { isNamedUpstream, type UpstreamRoute } from './routing.js'
import { DEFAULT_ISSUER, SECRET_VARS, type CacheRule, type PaceRule, type RouteRule, type SettingKey, type SettingSpec } from './settings.js'


/** Parsing one setting's value, from the environment (a string) or the config file (JSON). */


export function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

export function parseValue (raw: string, spec: SettingSpec, key: SettingKey, name: string): unknown {
  const type = spec.type
  switch (type.kind) {
    case 'string':
      return raw
    case 'url':
      return parseUrl(raw, name, spec.example ?? DEFAULT_ISSUER)
    case 'enum':
      if (!type.values.includes(raw)) throw new ConfigError(`${name}="${raw}" is not valid: use one of ${type.values.join(', ')}`)
      return raw
    case 'int': {
      const n = Number(raw)
      if (!/^-?\d+$/.test(raw) || n < type.min || n > type.max) {
        throw new ConfigError(`${name}="${raw}" is not valid: use a whole number from ${type.min} to ${type.max}`)
      }
      return n
    }
    case 'ratio': {
      const n = Number(raw)
      if (raw === '' || !Number.isFinite(n) || n < type.min || n > type.max) {
        throw new ConfigError(`${name}="${raw}" is not valid: use a number from ${type.min} to ${type.max}`)
      }
      return n
    }
    case 'bool':
      if (/^(true|1|yes)$/i.test(raw)) return true
      if (/^(false|0|no)$/i.test(raw)) return false
      throw new ConfigError(`${name}="${raw}" is not valid: use true or false`)
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
    case 'routes':
    case 'upstreams':
    case 'pace':
    case 'cache':
      throw new ConfigError(`${name} can only be set in the config file`)
  }
}

/** A value from the config file; `where` names the file and the key (and the profile) in messages. */
export function checkFileValue (value: unknown, spec: SettingSpec, key: SettingKey, where: string): unknown {
  const kind = spec.type.kind
  if (kind === 'list') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ConfigError(`${where} must be a list of strings`)
    return value
  }
  if (kind === 'routes') return parseRoutes(value, where)
  if (kind === 'upstreams') return parseUpstreams(value, where)
  if (kind === 'pace') return parsePace(value, where)
  if (kind === 'cache') return parseCacheRules(value, where)
  if (kind === 'bool' && typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false`)
  if ((kind === 'int' || kind === 'ratio') && typeof value !== 'number') throw new ConfigError(`${where} must be a number`)
  if ((kind === 'string' || kind === 'url' || kind === 'enum') && typeof value !== 'string') throw new ConfigError(`${where} must be a string`)
  return parseValue(String(value), spec, key, where)
}

function parseRoutes (value: unknown, where: string): RouteRule[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be a list like ["GET /inContactAPI/services/*/skills/**"]`)
  return value.map((entry, i) => {
    const m = typeof entry === 'string' ? /^([A-Z]+|\*)\s+(\/\S*)$/.exec(entry.trim()) : null
    if (m === null) throw new ConfigError(`${where}[${i}] = ${JSON.stringify(entry)} is not valid: write "METHOD /path/pattern", e.g. "GET /inContactAPI/services/*/skills/**"`)
    return Object.freeze({ method: m[1] as string, pattern: m[2] as string })
  })
}

const PACE_EXAMPLE = '[{ "route": "POST /data-extraction/*/jobs/**", "maxConcurrent": 1, "minIntervalMs": 30000 }]'
const PACE_FIELDS = { maxConcurrent: { min: 1, max: 1000 }, minIntervalMs: { min: 0, max: 3_600_000 } } as const

function parsePace (value: unknown, where: string): PaceRule[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be a list like ${PACE_EXAMPLE}, or [] to pace nothing`)
  return value.map((entry: unknown, i) => {
    const at = `${where}[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(`${at} must be an object like ${PACE_EXAMPLE.slice(1, -1)}`)
    const rule = entry as Record<string, unknown>
    for (const key of Object.keys(rule)) {
      if (key !== 'route' && !Object.hasOwn(PACE_FIELDS, key)) throw new ConfigError(`${at} has an unknown field "${key}": a pace rule has route, maxConcurrent and minIntervalMs`)
    }
    const m = typeof rule.route === 'string' ? /^([A-Z]+|\*)\s+(\/\S*)$/.exec(rule.route.trim()) : null
    if (m === null) throw new ConfigError(`${at}.route = ${JSON.stringify(rule.route)} is not valid: write "METHOD /path/pattern", e.g. "POST /data-extraction/*/jobs/**"`)
    const numbers = {} as Record<keyof typeof PACE_FIELDS, number>
    for (const [key, range] of Object.entries(PACE_FIELDS) as Array<[keyof typeof PACE_FIELDS, { min: number, max: number }]>) {
      const n = rule[key]
      if (typeof n !== 'number' || !Number.isInteger(n) || n < range.min || n > range.max) {
        throw new ConfigError(`${at}.${key} must be a whole number from ${range.min} to ${range.max}, not ${JSON.stringify(n) ?? 'missing'}`)
      }
      numbers[key] = n
    }
    return Object.freeze({ route: `${m[1] as string} ${m[2] as string}`, method: m[1] as string, pattern: m[2] as string, ...numbers })
  })
}

/** A cache entry lives this long at most: the micro-cache spares polls, it is no CDN. */
export const CACHE_TTL_MAX_MS = 600_000
const CACHE_RULE_KEYS = new Set(['route', 'ttlMs', 'respectCacheControl'])

function parseCacheRules (value: unknown, where: string): CacheRule[] {
  const example = '[{ "route": "GET /inContactAPI/services/*/skills/activity", "ttlMs": 1000 }]'
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be a list like ${example}`)
  return value.map((entry: unknown, i) => {
    const at = `${where}[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(`${at} must be an object like { "route": "GET /inContactAPI/services/*/skills/activity", "ttlMs": 1000 }`)
    const e = entry as Record<string, unknown>
    const unknown = Object.keys(e).filter((k) => !CACHE_RULE_KEYS.has(k))
    if (unknown.length > 0) throw new ConfigError(`${at} has unknown field ${unknown.map((k) => `"${k}"`).join(', ')}: a cache rule has only "route", "ttlMs" and "respectCacheControl"`)
    const m = typeof e.route === 'string' ? /^(GET|HEAD)\s+(\/\S*)$/.exec(e.route.trim()) : null
    if (m === null) throw new ConfigError(`${at}.route = ${JSON.stringify(e.route)} is not valid: write "GET /path/pattern" (or HEAD; only reads are cached), e.g. "GET /inContactAPI/services/*/skills/activity"`)
    const ttl = e.ttlMs
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > CACHE_TTL_MAX_MS) throw new ConfigError(`${at}.ttlMs = ${JSON.stringify(ttl)} is not valid: use a whole number of milliseconds from 1 to ${CACHE_TTL_MAX_MS}`)
    const respect = e.respectCacheControl ?? false
    if (typeof respect !== 'boolean') throw new ConfigError(`${at}.respectCacheControl = ${JSON.stringify(respect)} is not valid: use true (answers marked private, no-cache or max-age=0 are not stored) or false (the rule's ttlMs wins, the default)`)
    return Object.freeze({ method: m[1] as 'GET' | 'HEAD', pattern: m[2] as string, ttlMs: ttl, respectCacheControl: respect })
  })
}

const UPSTREAMS_EXAMPLE = '[{ "prefix": "/dfo/", "upstream": "digital" }]'

/** `upstreams`: an ordered list of { prefix, upstream }, upstream being api, ui, digital or an explicit URL. */
function parseUpstreams (value: unknown, where: string): UpstreamRoute[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be a list like ${UPSTREAMS_EXAMPLE}`)
  const problems: ConfigError[] = []
  const entries = value.map((entry, i) => collect(problems, () => parseUpstream(entry, `${where}[${i}]`)))
  if (problems.length > 0) throw new ConfigProblems(problems)
  return entries as UpstreamRoute[]
}

function parseUpstream (entry: unknown, at: string): UpstreamRoute {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(`${at} must be an object like { "prefix": "/dfo/", "upstream": "digital" }`)
  const e = entry as Record<string, unknown>
  const unknown = Object.keys(e).filter((k) => k !== 'prefix' && k !== 'upstream')
  if (unknown.length > 0) throw new ConfigError(`${at} has unknown field "${unknown[0] as string}": an entry has only "prefix" and "upstream"`)
  const prefix = e.prefix
  if (typeof prefix !== 'string' || !/^\/[^\s?#]*$/.test(prefix)) {
    throw new ConfigError(`${at}.prefix = ${JSON.stringify(prefix)} is not valid: write a path prefix that starts with /, like "/dfo/"`)
  }
  const upstream = e.upstream
  if (typeof upstream !== 'string' || upstream === '') throw new ConfigError(`${at}.upstream must be "api", "ui", "digital" or an https:// URL`)
  if (isNamedUpstream(upstream)) return Object.freeze({ prefix, upstream })
  const url = new URL(parseUrl(upstream, `${at}.upstream`, 'https://wfm.example.com'))
  if (!isSafeOrigin(url)) throw new ConfigError(`${at}.upstream = ${upstream} uses plain http off loopback: the token would travel unencrypted; use https://`, { code: 'config_unsafe' })
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`${at}.upstream = ${upstream} has a path or query: name the origin only (${url.origin}); the caller's path is forwarded as it is`)
  }
  return Object.freeze({ prefix, upstream: url.origin })
}

function parseUrl (raw: string, name: string, example: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name}="${raw}" is not a URL: write it like ${example}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${name}="${raw}" must be an https:// URL`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${name} must not carry credentials in the URL: use ${SECRET_VARS.clientId} and ${SECRET_VARS.clientSecret}`)
  }
  return raw.replace(/\/+$/, '')
}

export function plainHttpOffLoopback (value: unknown): boolean {
  if (typeof value !== 'string') return false
  const url = new URL(value)
  return url.protocol === 'http:' && !isLoopbackHost(url.hostname)
}

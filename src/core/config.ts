import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from './errors.js'
import { CONFIG_FILE_VAR, DEFAULT_CONFIG_FILE, SECRET_VARS, SETTINGS, type SettingKey, type SettingSpec } from './settings.js'
import { readCredentials, type Credentials } from './secrets.js'
import { isLoopbackHost } from './net.js'

export type { Credentials } from './secrets.js'
export { readSecret } from './secrets.js'

export type Source = 'env' | 'file' | 'default' | 'discovered' | 'derived'

export interface RouteRule {
  readonly method: string
  readonly pattern: string
}

/** One micro-cache rule of the config file: `{ "route": "GET /inContactAPI/services/*\/skills/activity", "ttlMs": 1000 }`. */
export interface CacheRule {
  readonly method: 'GET' | 'HEAD'
  readonly pattern: string
  readonly ttlMs: number
}

export interface Settings {
  issuer: string
  tokenUrl: string | undefined
  apiUrl: string | undefined
  grantType: 'password' | 'client_credentials'
  clientAuth: 'client_secret_basic' | 'client_secret_post'
  basicEncoding: 'rfc6749' | 'raw'
  scope: string | undefined
  refreshAhead: number
  tokenTimeoutMs: number
  configErrorRetrySec: number
  host: string
  port: number
  publicUrl: string | undefined
  adminHost: string
  adminPort: number | undefined
  allowedHosts: readonly string[]
  corsOrigins: readonly string[]
  allowUnauthenticated: boolean
  readOnly: boolean
  routes: readonly RouteRule[]
  coalesce: boolean
  cache: readonly CacheRule[]
  cacheMaxBytes: number
  maxBodyBytes: number
  maxHeaderBytes: number
  maxHeaderCount: number
  bodyTimeoutMs: number
  maxBufferedBytes: number
  headersTimeoutMs: number
  upstreamTimeoutMs: number
  connectTimeoutMs: number
  keepAliveTimeoutMs: number
  upstreamConnections: number
  maxConcurrentUpstream: number
  queueTimeoutMs: number
  redisCommandTimeoutMs: number
  shutdownGraceMs: number
  logLevel: string
}

export interface Config {
  readonly settings: Readonly<Settings>
  readonly credentials: Credentials
  readonly sources: Readonly<Record<SettingKey, Source>>
  /** The config file actually read, if any. */
  readonly configPath: string | undefined
}

export interface LoadOptions {
  env: NodeJS.ProcessEnv
  /** `--config` from the command line; wins over PROXY_CONFIG. */
  configPath?: string | undefined
  cwd?: string
  /** Credentials may be absent (the `check` command reports them instead of stopping). */
  allowMissingCredentials?: boolean
  /** Read no config file unless one is named. */
  skipDefaultFile?: boolean
  /** Settings the file may not set, taken from the environment or the default (the demo's CXone side). */
  envOnly?: readonly SettingKey[]
}

export { DEFAULT_CONFIG_FILE } from './settings.js'

/** What a valid value looks like, for the "not a URL" hint of each URL setting. */
const URL_EXAMPLES: Partial<Record<SettingKey, string>> = {
  issuer: 'https://cxone.niceincontact.com',
  tokenUrl: 'https://cxone.niceincontact.com/auth/token',
  apiUrl: 'https://api-na1.niceincontact.com',
  publicUrl: 'http://127.0.0.1:8080'
}

/** Every problem found in one load, so one run names them all (issue 16): each keeps its own wording. */
export class ConfigProblems extends ConfigError {
  readonly problems: readonly ConfigError[]
  constructor (problems: readonly ConfigError[]) {
    super(problems.length === 1
      ? (problems[0] as ConfigError).message
      : `${problems.length} problems in the configuration:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`, { code: problems[0]?.code ?? 'config_invalid_value' })
    this.problems = problems
  }
}

/** Runs `fn`; a ConfigError becomes one more problem instead of stopping the load. */
export function collect<T> (problems: ConfigError[], fn: () => T): T | undefined {
  try {
    return fn()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    problems.push(...(err instanceof ConfigProblems ? err.problems : [err]))
    return undefined
  }
}

/** Reads proxy.config.json and the environment, validates everything once, and freezes the result. */
export function loadConfig (opts: LoadOptions): Config {
  const { env } = opts
  const cwd = opts.cwd ?? process.cwd()
  const explicit = opts.configPath ?? nonEmpty(env[CONFIG_FILE_VAR])
  const configPath = explicit !== undefined ? resolve(cwd, explicit) : resolve(cwd, DEFAULT_CONFIG_FILE)
  const file = explicit === undefined && opts.skipDefaultFile === true
    ? { path: configPath, data: undefined }
    : readConfigFile(configPath, explicit !== undefined, opts.configPath !== undefined ? '--config' : CONFIG_FILE_VAR)

  const problems: ConfigError[] = []
  if (file.data !== undefined) checkKeys(file.path, file.data, problems)
  const values: Record<string, unknown> = {}
  const sources = {} as Record<SettingKey, Source>
  for (const [key, spec] of Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>) {
    const fileRaw = opts.envOnly?.includes(key) === true ? undefined : file.data?.[key]
    // The file's value is checked even when the environment overrides it: the file is wrong either way.
    const fileValue = fileRaw === undefined || fileRaw === null ? undefined : collect(problems, () => checkFileValue(fileRaw, spec, key, `${file.path}: "${key}"`))
    const envValue = spec.env !== null ? nonEmpty(env[spec.env]) : undefined
    if (envValue !== undefined) {
      values[key] = collect(problems, () => parseValue(envValue, spec, key, spec.env as string)) ?? spec.default
      sources[key] = 'env'
    } else if (fileValue !== undefined) {
      values[key] = fileValue
      sources[key] = 'file'
    } else {
      values[key] = spec.default
      sources[key] = 'default'
    }
  }

  const { credentials, problems: secretProblems } = readCredentials(env, opts.allowMissingCredentials === true)
  problems.push(...secretProblems)
  const settings = values as unknown as Settings
  if (settings.grantType === undefined) {
    settings.grantType = credentials.accessKeyId !== undefined ? 'password' : 'client_credentials'
    sources.grantType = 'derived'
  }
  validateCombination(settings, credentials, sources, opts.allowMissingCredentials === true, problems)
  if (problems.length > 0) throw new ConfigProblems(problems)

  return Object.freeze({
    settings: Object.freeze(settings),
    credentials,
    sources: Object.freeze(sources),
    configPath: file.data !== undefined ? file.path : undefined
  })
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

interface FileResult { path: string, data: Record<string, unknown> | undefined }

function readConfigFile (path: string, required: boolean, via: string): FileResult {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return { path, data: undefined }
    throw new ConfigError(`config file ${path} (from ${via}) cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): fix the path, or unset ${via} to use defaults`, { cause: err, code: 'config_file_unreadable' })
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON${jsonPosition(text, err)}: ${(err as Error).message}; fix the file or compare it with the committed proxy.config.json`, { cause: err, code: 'config_file_invalid' })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold a JSON object of settings, like the committed proxy.config.json`, { code: 'config_file_invalid' })
  }
  const record = data as Record<string, unknown>
  return { path, data: record }
}

function checkKeys (path: string, record: Record<string, unknown>, problems: ConfigError[]): void {
  for (const key of Object.keys(record)) {
    if (key === '$comment' || key.startsWith('//') || key in SETTINGS) continue
    const secret = Object.entries(SECRET_VARS).find(([k]) => k === key)
    problems.push(new ConfigError(secret !== undefined
      ? `config file ${path}: "${key}" is a secret and is not read from files: set ${secret[1]} or ${secret[1]}_FILE in the environment instead, and remove it from the file`
      : `config file ${path}: unknown setting "${key}": known settings are ${Object.keys(SETTINGS).join(', ')}`, { code: 'config_unknown_setting' }))
  }
}

/** Node's JSON errors give a character offset; people fix files by line and column. */
function jsonPosition (text: string, err: unknown): string {
  const match = /position (\d+)/.exec((err as Error).message)
  if (match === null) return ''
  const offset = Number(match[1])
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  return ` at line ${line}, column ${column}`
}

function parseValue (raw: string, spec: SettingSpec, key: SettingKey, name: string): unknown {
  const type = spec.type
  switch (type.kind) {
    case 'string':
      return raw
    case 'url':
      return parseUrl(raw, name, URL_EXAMPLES[key] ?? 'https://cxone.niceincontact.com')
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
    case 'cache':
      throw new ConfigError(`${name} can only be set in the config file`)
  }
}

function checkFileValue (value: unknown, spec: SettingSpec, key: SettingKey, where: string): unknown {
  const kind = spec.type.kind
  if (kind === 'list') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ConfigError(`${where} must be a list of strings`)
    return value
  }
  if (kind === 'routes') return parseRoutes(value, where)
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

/** A cache entry lives this long at most: the micro-cache spares polls, it is no CDN. */
export const CACHE_TTL_MAX_MS = 600_000
const CACHE_RULE_KEYS = new Set(['route', 'ttlMs'])

function parseCacheRules (value: unknown, where: string): CacheRule[] {
  const example = '[{ "route": "GET /inContactAPI/services/*/skills/activity", "ttlMs": 1000 }]'
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be a list like ${example}`)
  return value.map((entry: unknown, i) => {
    const at = `${where}[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(`${at} must be an object like { "route": "GET /inContactAPI/services/*/skills/activity", "ttlMs": 1000 }`)
    const e = entry as Record<string, unknown>
    const unknown = Object.keys(e).filter((k) => !CACHE_RULE_KEYS.has(k))
    if (unknown.length > 0) throw new ConfigError(`${at} has unknown field ${unknown.map((k) => `"${k}"`).join(', ')}: a cache rule has only "route" and "ttlMs"`)
    const m = typeof e.route === 'string' ? /^(GET|HEAD)\s+(\/\S*)$/.exec(e.route.trim()) : null
    if (m === null) throw new ConfigError(`${at}.route = ${JSON.stringify(e.route)} is not valid: write "GET /path/pattern" (or HEAD; only reads are cached), e.g. "GET /inContactAPI/services/*/skills/activity"`)
    const ttl = e.ttlMs
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > CACHE_TTL_MAX_MS) throw new ConfigError(`${at}.ttlMs = ${JSON.stringify(ttl)} is not valid: use a whole number of milliseconds from 1 to ${CACHE_TTL_MAX_MS}`)
    return Object.freeze({ method: m[1] as 'GET' | 'HEAD', pattern: m[2] as string, ttlMs: ttl })
  })
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
    throw new ConfigError(`${name} must not carry credentials in the URL: use CXONE_CLIENT_ID and CXONE_CLIENT_SECRET`)
  }
  return raw.replace(/\/+$/, '')
}

function validateCombination (s: Settings, c: Credentials, sources: Record<SettingKey, Source>, allowMissing: boolean, problems: ConfigError[]): void {
  if (!allowMissing && s.grantType === 'password' && c.accessKeyId === undefined && c.origins.accessKeySecret === 'unset') {
    problems.push(new ConfigError('CXONE_GRANT_TYPE=password needs an access key: set CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET (or their _FILE forms), or use CXONE_GRANT_TYPE=client_credentials', { code: 'config_missing_secret' }))
  }
  for (const key of ['issuer', 'tokenUrl', 'apiUrl'] as const) {
    const value = s[key]
    if (value === undefined) continue
    const url = new URL(value)
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      const name = SETTINGS[key].env
      problems.push(new ConfigError(`${sources[key] === 'file' ? `"${key}"` : name}=${value} uses plain http off loopback: the token would travel unencrypted; use https://`, { code: 'config_unsafe' }))
    }
  }
  if (s.adminPort !== undefined && s.adminPort === s.port && s.port !== 0) {
    problems.push(new ConfigError(`PROXY_ADMIN_PORT=${s.adminPort} is the same as PROXY_PORT: choose another port for the admin listener`))
  }
  if (s.maxBufferedBytes < s.maxBodyBytes) {
    problems.push(new ConfigError(`PROXY_MAX_BUFFERED_BYTES=${s.maxBufferedBytes} is less than PROXY_MAX_BODY_BYTES=${s.maxBodyBytes}: a body at the limit could never be held; raise PROXY_MAX_BUFFERED_BYTES`))
  }
  if (!isLoopbackHost(s.host) && c.apiKeys.length === 0 && !s.allowUnauthenticated) {
    problems.push(new ConfigError(`PROXY_HOST=${s.host} is not a loopback address and no PROXY_API_KEYS are set: anything that can reach ${s.host} would get the tenant's bearer. Set PROXY_API_KEYS (or PROXY_API_KEYS_FILE), or accept the risk with PROXY_ALLOW_UNAUTHENTICATED=true`, { code: 'config_unsafe' }))
  }
}

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from './errors.js'
import { CONFIG_FILE_VAR, DEFAULT_CONFIG_FILE, DEFAULT_PROFILE, PROFILES_KEY, SECRET_VARS, SETTINGS, type SecretVars, type SettingKey, type SettingSpec } from './settings.js'
import { readCredentials, type Credentials } from './secrets.js'
import { isLoopbackHost } from './net.js'
import { collect, ConfigProblems } from './problems.js'
import { readProfiles } from './profiles.js'
import { callersOf, CALLERS_KEY, type CallerSet } from './callers.js'
import type { UpstreamRoute } from './routing.js'
import { checkFileValue, CREDENTIAL_URL_KEYS, nonEmpty, parseValue, plainHttpOffLoopback, type CacheRule, type PaceRule, type RouteRule } from './values.js'

export type { Credentials } from './secrets.js'
export { readSecret } from './secrets.js'
export { collect, ConfigProblems } from './problems.js'
export type { CacheRule, PaceRule, RouteRule } from './values.js'
export { CACHE_TTL_MAX_MS } from './values.js'

/** Where a setting's value came from; `inherited`: a profile's, from the top level of the config file. */
export type Source = 'env' | 'file' | 'default' | 'discovered' | 'derived' | 'inherited'



export interface Settings {
  issuer: string
  tokenUrl: string | undefined
  apiUrl: string | undefined
  uiUrl: string | undefined
  digitalUrl: string | undefined
  /** The routing table's configured entries (the defaults follow them: core/routing.ts). */
  upstreams: readonly UpstreamRoute[]
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
  pace: readonly PaceRule[]
  paceMaxWaitMs: number
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
  callerKeysDir: string | undefined
  callersEnforce: boolean
  logLevel: string
}

/**
 * One business unit (issue 12): its settings (process-wide ones are the default's), its credentials and where each
 * setting came from. The default profile is the top-level settings, named DEFAULT_PROFILE.
 */
export interface Profile {
  readonly name: string
  readonly settings: Readonly<Settings>
  readonly credentials: Credentials
  readonly sources: Readonly<Record<SettingKey, Source>>
  /** The environment variables its secrets come from (SECRET_VARS for the default). */
  readonly secretVars: SecretVars
  /** Its named callers (issue 22, core/callers.ts); undefined when it names none: it behaves as before callers. */
  readonly callers?: CallerSet | undefined
}

export interface Config {
  /** The default profile's (the top-level settings). */
  readonly settings: Readonly<Settings>
  readonly credentials: Credentials
  readonly sources: Readonly<Record<SettingKey, Source>>
  /** The config file actually read, if any. */
  readonly configPath: string | undefined
  /** Every profile, the default first (its settings, credentials and sources are the objects above). */
  readonly profiles: readonly [Profile, ...Profile[]]
}

/** The profile of that name, or undefined. */
export function findProfile (config: Config, name: string): Profile | undefined {
  return config.profiles.find((p) => p.name === name)
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
  /** Profiles used instead of the file's `profiles` (the demo's simulated business units). */
  profiles?: Record<string, unknown>
}

export { DEFAULT_CONFIG_FILE } from './settings.js'

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
  // What profiles inherit: the file's top-level values, never the environment's (issue 12).
  const fileValues: Partial<Record<SettingKey, unknown>> = {}
  for (const [key, spec] of Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>) {
    const fileRaw = opts.envOnly?.includes(key) === true ? undefined : file.data?.[key]
    // The file's value is checked even when the environment overrides it: the file is wrong either way.
    const fileValue = fileRaw === undefined || fileRaw === null ? undefined : collect(problems, () => checkFileValue(fileRaw, spec, key, `${file.path}: "${key}"`))
    fileValues[key] = fileValue
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
  const base = { name: DEFAULT_PROFILE, settings: Object.freeze(settings), credentials, sources: Object.freeze(sources), secretVars: SECRET_VARS }
  const main: Profile = Object.freeze({ ...base, callers: callersOf(base, file.data?.[CALLERS_KEY], `config file ${file.path}`, env, problems) })
  const rawProfiles = opts.profiles ?? file.data?.profiles
  const others = rawProfiles === undefined
    ? []
    : readProfiles({ path: file.path, raw: rawProfiles, main, fileValues, env, allowMissingCredentials: opts.allowMissingCredentials === true }, problems)
  if (problems.length > 0) throw new ConfigProblems(problems)

  return Object.freeze({
    settings: main.settings,
    credentials,
    sources: main.sources,
    configPath: file.data !== undefined ? file.path : undefined,
    profiles: Object.freeze([main, ...others] as const)
  })
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
    if (key === '$comment' || key.startsWith('//') || key in SETTINGS || key === PROFILES_KEY || key === CALLERS_KEY) continue
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

function validateCombination (s: Settings, c: Credentials, sources: Record<SettingKey, Source>, allowMissing: boolean, problems: ConfigError[]): void {
  if (!allowMissing && s.grantType === 'password' && c.accessKeyId === undefined && c.origins.accessKeySecret === 'unset') {
    problems.push(new ConfigError('CXONE_GRANT_TYPE=password needs an access key: set CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET (or their _FILE forms), or use CXONE_GRANT_TYPE=client_credentials', { code: 'config_missing_secret' }))
  }
  for (const key of CREDENTIAL_URL_KEYS) {
    const value = s[key]
    if (plainHttpOffLoopback(value)) {
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

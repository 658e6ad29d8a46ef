import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from './errors.js'
import { CONFIG_FILE_VAR, DEFAULT_CONFIG_FILE, DEFAULT_PROFILE, PROCESS_SECRET_VARS, PROFILES_KEY, SECRET_VARS, SETTINGS, type ProcessSecretKey, type SecretOrigin, type SettingKey, type Settings } from './settings.js'
import { secretOrigin, type Credentials } from './secrets.js'
import { collect, ConfigProblems } from './problems.js'
import { checkKeys, DEFAULT_VOICE, resolveProfile, type Profile, type Source } from './profile.js'
import { readProfiles } from './profiles.js'
import { callersOf, CALLERS_KEY, namesCallers } from './callers.js'
import { checkFileValue, nonEmpty, parseValue } from './values.js'

export type { Credentials } from './secrets.js'
export { ConfigProblems } from './problems.js'
export type { CacheRule, PaceRule, Settings } from './settings.js'
export type { Profile, Source } from './profile.js'

export interface Config {
  /** The default profile's (the top-level settings). */
  readonly settings: Readonly<Settings>
  readonly credentials: Credentials
  readonly sources: Readonly<Record<SettingKey, Source>>
  /** The config file actually read, if any. */
  readonly configPath: string | undefined
  /** Every profile, the default first (its settings, credentials and sources are the objects above). */
  readonly profiles: readonly [Profile, ...Profile[]]
  /** Whether each of the process's own secrets (REDIS_URL) is set; the component that uses one reads it. */
  readonly processSecrets: Readonly<Record<ProcessSecretKey, SecretOrigin>>
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
  if (file.data !== undefined) {
    checkKeys(file.data, `config file ${file.path}`, SECRET_VARS, (key) => key in SETTINGS || key === PROFILES_KEY || key === CALLERS_KEY, `known settings are ${Object.keys(SETTINGS).join(', ')}`, problems)
  }
  // What profiles inherit: the file's top-level values, never the environment's (issue 12).
  const fileValues: Partial<Record<SettingKey, unknown>> = {}
  const resolved = resolveProfile({
    namesCallers: namesCallers(file.data?.[CALLERS_KEY]),
    name: DEFAULT_PROFILE,
    vars: SECRET_VARS,
    env,
    allowMissingCredentials: opts.allowMissingCredentials === true,
    voice: DEFAULT_VOICE,
    pick: (key, spec) => {
      const fileRaw = opts.envOnly?.includes(key) === true ? undefined : file.data?.[key]
      // The file's value is checked even when the environment overrides it: the file is wrong either way.
      const fileValue = fileRaw === undefined || fileRaw === null ? undefined : collect(problems, () => checkFileValue(fileRaw, spec, key, `${file.path}: "${key}"`))
      fileValues[key] = fileValue
      const envValue = spec.env !== null ? nonEmpty(env[spec.env]) : undefined
      if (envValue !== undefined) return { value: collect(problems, () => parseValue(envValue, spec, key, spec.env as string)), from: 'env' }
      return fileValue === undefined ? undefined : { value: fileValue, from: 'file' }
    }
  }, problems)
  // issue 22: the default profile's named callers, from the file's top-level "callers".
  const main: Profile = Object.freeze({ ...resolved, callers: callersOf(resolved, file.data?.[CALLERS_KEY], `config file ${file.path}`, env, problems) })
  const rawProfiles = opts.profiles ?? file.data?.profiles
  const others = rawProfiles === undefined
    ? []
    : readProfiles({ path: file.path, raw: rawProfiles, main, fileValues, env, allowMissingCredentials: opts.allowMissingCredentials === true }, problems)
  if (problems.length > 0) throw new ConfigProblems(problems)

  return Object.freeze({
    settings: main.settings,
    credentials: main.credentials,
    sources: main.sources,
    configPath: file.data !== undefined ? file.path : undefined,
    profiles: Object.freeze([main, ...others] as const),
    processSecrets: Object.freeze({ redisUrl: secretOrigin(env, PROCESS_SECRET_VARS.redisUrl) })
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

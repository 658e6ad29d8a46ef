/**
 * One profile's resolution, written once for the default profile (the top-level settings) and for each named one
 * (issue 12): the merge of each setting's candidates, the credentials, the derived grant type, the combination
 * rules. What differs between the two is where a value may come from (`pick`) and how messages name a setting
 * (`Voice`); config.ts and profiles.ts say each.
 */
import type { CallerSet } from './callers.js'
import { readMode, readSocket } from './caller-fields.js'
import { ConfigError } from './errors.js'
import { isLoopbackHost } from './net.js'
import { readCredentials, type Credentials } from './secrets.js'
import { DEFAULT_PROFILE, SECRET_VARS, SETTINGS, CREDENTIAL_URL_KEYS, PROFILE_KEYS, type SecretKey, type SecretVars, type SettingKey, type Settings, type SettingSpec } from './settings.js'
import { plainHttpOffLoopback } from './values.js'

/** Where a setting's value came from; `inherited`: a profile's, from the top level of the config file. */
export type Source = 'env' | 'file' | 'default' | 'discovered' | 'derived' | 'inherited'

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

/** A setting's value and where it came from; undefined: the table's default. */
export type Candidate = { value: unknown, from: Source } | undefined

export interface ProfileInput {
  name: string
  vars: SecretVars
  /** The value a setting takes in this profile, or undefined for the table's default. */
  pick: (key: SettingKey, spec: SettingSpec) => Candidate
  env: NodeJS.ProcessEnv
  allowMissingCredentials: boolean
  voice: Voice
  /** The default profile, for a named one: the rules skip what was judged there already. */
  main?: Profile
  /** Runs once every setting is merged, before the credentials are read (a check of the profile's own). */
  merged?: () => void
  /** issue 22: the profile names callers (its `callers` value is a non-empty object): each way in needs a key or a socket. */
  namesCallers?: boolean
}

/** How one profile's messages name its settings and secrets. */
export interface Voice {
  /** Put before every message: '' for the default, `config file …: profile "x": ` for another. */
  readonly where: string
  /** `CXONE_GRANT_TYPE=password` for the default, `"grantType" password` for a profile. */
  readonly setting: (key: SettingKey, value: unknown, source: Source | undefined) => string
  /** The fix that sets it: `use CXONE_GRANT_TYPE=x` or `set "grantType": "x"`. */
  readonly fix: (key: SettingKey, value: string) => string
  /** Whose bearer a caller would get, and where from: `${host}` or `${host}:${port}`. */
  readonly exposure: (s: Readonly<Settings>) => { reach: string, whose: string }
}

/** Merges every setting, reads the credentials, derives the grant type and checks the combination. */
export function resolveProfile (input: ProfileInput, problems: ConfigError[]): Profile {
  const values: Record<string, unknown> = {}
  const sources = {} as Record<SettingKey, Source>
  for (const [key, spec] of Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>) {
    const c = input.pick(key, spec)
    values[key] = c?.value ?? spec.default
    sources[key] = c?.from ?? 'default'
  }
  input.merged?.()
  const { credentials, problems: secretProblems } = readCredentials(input.env, input.allowMissingCredentials, input.vars)
  const named = input.name !== DEFAULT_PROFILE
  problems.push(...secretProblems.map((p) => named ? new ConfigError(`profile "${input.name}": ${p.message}`, { code: p.code, cause: p.cause, variable: p.variable }) : p))
  const settings = values as Settings
  if (settings.grantType === undefined) {
    settings.grantType = credentials.accessKeyId !== undefined ? 'password' : 'client_credentials'
    sources.grantType = 'derived'
  }
  const profile: Profile = Object.freeze({ name: input.name, settings: Object.freeze(settings), credentials, sources: Object.freeze(sources), secretVars: input.vars })
  checkCombination(profile, input, problems)
  return profile
}

/** Settings that are fine alone but not together; a named profile is judged on what it does not share with the default. */
function checkCombination (p: Profile, input: ProfileInput, problems: ConfigError[]): void {
  const { voice: v, main } = input
  const s = p.settings
  const c = p.credentials
  const vars = p.secretVars
  const env = (key: SettingKey): string => SETTINGS[key].env ?? key
  if (!input.allowMissingCredentials && s.grantType === 'password' && c.accessKeyId === undefined && c.origins.accessKeySecret === 'unset') {
    problems.push(new ConfigError(`${v.where}${v.setting('grantType', 'password', undefined)} needs an access key: set ${vars.accessKeyId} and ${vars.accessKeySecret} (or their _FILE forms), or ${v.fix('grantType', 'client_credentials')}`, { code: 'config_missing_secret' }))
  }
  for (const key of CREDENTIAL_URL_KEYS) {
    // A value the default profile also holds was judged there already.
    if ((main !== undefined && s[key] === main.settings[key]) || !plainHttpOffLoopback(s[key])) continue
    problems.push(new ConfigError(`${v.where}${v.setting(key, s[key], p.sources[key])} uses plain http off loopback: the token would travel unencrypted; use https://`, { code: 'config_unsafe' }))
  }
  if (main === undefined && s.adminPort !== undefined && s.adminPort === s.port && s.port !== 0) {
    problems.push(new ConfigError(`${env('adminPort')}=${s.adminPort} is the same as ${env('port')}: choose another port for the admin listener`))
  }
  if (s.maxBufferedBytes < s.maxBodyBytes && s.maxBodyBytes !== main?.settings.maxBodyBytes) {
    const buffered = `${env('maxBufferedBytes')}=${s.maxBufferedBytes}`
    problems.push(new ConfigError(main === undefined
      ? `${buffered} is less than ${env('maxBodyBytes')}=${s.maxBodyBytes}: a body at the limit could never be held; raise ${env('maxBufferedBytes')}`
      : `${v.where}${v.setting('maxBodyBytes', s.maxBodyBytes, undefined)} is more than ${buffered}: a body at the limit could never be held; lower it, or raise ${env('maxBufferedBytes')}`))
  }
  // issue 22: the profile's own socket, judged as a caller's is.
  if (s.socket !== undefined) {
    const at = v.where === '' ? `${env('socket')} (or "socket" in the file)` : v.where.replace(/: $/, '')
    try {
      readSocket(s.socket, at)
      readMode(s.socketMode, at, `${p.name} (the profile's own socket)`)
    } catch (err) {
      problems.push(err as ConfigError)
    }
  }
  // With named callers, enforced, a call off loopback gets in only by a caller's key or socket (the loopback caller is
  // for loopback peers only); in shadow mode (PROXY_CALLERS_ENFORCE=false) an unknown call would get in.
  const callersGuard = input.namesCallers === true && s.callersEnforce
  if (!isLoopbackHost(s.host) && c.apiKeys.length === 0 && !s.allowUnauthenticated && !callersGuard) {
    const { reach, whose } = v.exposure(s)
    problems.push(new ConfigError(`${v.where}${env('host')}=${s.host} is not a loopback address and no ${vars.apiKeys} are set: anything that can reach ${reach} would get ${whose} bearer. Set ${vars.apiKeys} (or ${vars.apiKeys}_FILE), or accept the risk with ${v.fix('allowUnauthenticated', 'true')}`, { code: 'config_unsafe' }))
  }
}

/** How the default profile's messages name a setting: by its variable, or by its key when the file set it. */
export const DEFAULT_VOICE: Voice = {
  where: '',
  setting: (key, value, source) => `${source === 'file' ? `"${key}"` : SETTINGS[key].env ?? key}=${String(value)}`,
  fix: (key, value) => key === 'allowUnauthenticated' ? `${SETTINGS[key].env}=${value}` : `use ${SETTINGS[key].env ?? key}=${value}`,
  exposure: (s) => ({ reach: s.host, whose: 'the tenant\'s' })
}

/** How a named profile's messages name a setting: by its key in the profile. */
export function profileVoice (where: string): Voice {
  return {
    where: `${where}: `,
    setting: (key, value, source) => typeof value === 'number'
      ? `"${key}" ${value}`
      : key === 'grantType' ? `"${key}" ${String(value)}` : `"${key}"=${String(value)}${source === 'inherited' ? ' (inherited from the top level)' : ''}`,
    fix: (key, value) => key === 'allowUnauthenticated' ? `"${key}": ${value} in the profile` : `set "${key}": "${value}"`,
    exposure: (s) => ({ reach: `${s.host}:${s.port}`, whose: 'this business unit\'s' })
  }
}

/**
 * The keys of a settings object in the file (the top level, or a profile's): each must be one it may set. A secret
 * is never read from the file; a profile that sets a process-wide setting is sent to the top level.
 */
export function checkKeys (record: Record<string, unknown>, where: string, vars: SecretVars, allowed: (key: string) => boolean, unknownHint: string, problems: ConfigError[]): void {
  const code = 'config_unknown_setting'
  for (const key of Object.keys(record)) {
    if (key === '$comment' || key.startsWith('//') || allowed(key)) continue
    if (Object.hasOwn(SECRET_VARS, key)) {
      const name = vars[key as SecretKey]
      problems.push(new ConfigError(`${where}: "${key}" is a secret and is not read from files: set ${name} or ${name}_FILE in the environment instead, and remove it from the file`, { code }))
    } else if (Object.hasOwn(SETTINGS, key) && !PROFILE_KEYS.includes(key as SettingKey)) {
      const variable = SETTINGS[key as SettingKey].env
      problems.push(new ConfigError(`${where}: "${key}" is process-wide: set it at the top level of the file${variable !== null ? ` (or ${variable})` : ''}, where it applies to every profile`, { code }))
    } else {
      problems.push(new ConfigError(`${where}: unknown setting "${key}": ${unknownHint}`, { code }))
    }
  }
}

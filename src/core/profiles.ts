import type { Profile, Settings, Source } from './config.js'
import { callersOf, CALLERS_KEY } from './callers.js'
import { ConfigError } from './errors.js'
import { isLoopbackHost } from './net.js'
import { collect } from './problems.js'
import { isNamedUpstream, type UpstreamRoute } from './routing.js'
import { readCredentials } from './secrets.js'
import { DEFAULT_PROFILE, PROFILE_KEYS, PROFILE_NAME, PROFILE_OWN_KEYS, PROFILES_KEY, SECRET_VARS, SETTINGS, secretVars, type SecretKey, type SecretVars, type SettingKey, type SettingSpec } from './settings.js'
import { checkFileValue, CREDENTIAL_URL_KEYS, plainHttpOffLoopback } from './values.js'

/**
 * The config file's `profiles` (issue 12): one business unit each, validated with every problem named by its profile
 * and field. A profile sets PROFILE_KEYS only; it inherits the others from the file's top level, never from the
 * environment, and never PROFILE_OWN_KEYS (its tenant's endpoints, its listener); process-wide settings are the default's.
 */

export interface ProfilesInput {
  /** The config file, for messages. */
  path: string
  /** The file's `profiles` value, as parsed. */
  raw: unknown
  /** The default profile, already loaded: process-wide settings come from it. */
  main: Profile
  /** The file's top-level values, parsed: what a profile inherits. */
  fileValues: Partial<Record<SettingKey, unknown>>
  env: NodeJS.ProcessEnv
  allowMissingCredentials: boolean
}

/** Every profile but the default, in the file's order; each problem is added to `problems`. */
export function readProfiles (input: ProfilesInput, problems: ConfigError[]): Profile[] {
  const { path, raw } = input
  if (raw === undefined || raw === null) return []
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(new ConfigError(`config file ${path}: "${PROFILES_KEY}" must be an object of named profiles, like {"bu-two": {"port": 8081}}`, { code: 'config_file_invalid' }))
    return []
  }
  const profiles: Profile[] = []
  for (const [name, body] of Object.entries(raw as Record<string, unknown>)) {
    const where = `config file ${path}: profile "${name}"`
    if (!PROFILE_NAME.test(name)) {
      problems.push(new ConfigError(`config file ${path}: profile name "${name}" is not valid: use 1 to 32 lowercase letters, digits and -, like "bu-two"`))
    } else if (name === DEFAULT_PROFILE) {
      problems.push(new ConfigError(`config file ${path}: profile name "${DEFAULT_PROFILE}" is the top-level settings' name: choose another name for this profile`))
    } else if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      problems.push(new ConfigError(`${where} must be an object of settings, like {"port": 8081}`, { code: 'config_file_invalid' }))
    } else {
      profiles.push(readProfile(name, body as Record<string, unknown>, where, input, problems))
    }
  }
  checkPorts(path, input.main.settings, profiles, problems)
  return profiles
}

function readProfile (name: string, body: Record<string, unknown>, where: string, input: ProfilesInput, problems: ConfigError[]): Profile {
  const vars = secretVars(name)
  checkProfileKeys(body, where, vars, problems)
  const main = input.main
  const values: Record<string, unknown> = {}
  const sources = {} as Record<SettingKey, Source>
  for (const [key, spec] of Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>) {
    const own = PROFILE_KEYS.includes(key) ? body[key] : undefined
    const ownValue = own === undefined || own === null ? undefined : collect(problems, () => checkFileValue(own, spec, key, `${where}: "${key}"`))
    const inherited = inheritable(key, input.fileValues[key])
    if (ownValue !== undefined) {
      values[key] = ownValue
      sources[key] = 'file'
    } else if (!PROFILE_KEYS.includes(key)) {
      values[key] = main.settings[key]
      sources[key] = main.sources[key]
    } else if (inherited !== undefined) {
      values[key] = inherited
      sources[key] = 'inherited'
    } else {
      values[key] = spec.default
      sources[key] = 'default'
    }
  }
  if (body.port === undefined || body.port === null) {
    problems.push(new ConfigError(`${where}: "port" is missing: each profile listens on a port of its own, like "port": 8081`))
  }
  const { credentials, problems: secretProblems } = readCredentials(input.env, input.allowMissingCredentials, vars)
  problems.push(...secretProblems.map((p) => new ConfigError(`profile "${name}": ${p.message}`, { code: p.code, cause: p.cause })))
  const settings = values as unknown as Settings
  if (settings.grantType === undefined) {
    settings.grantType = credentials.accessKeyId !== undefined ? 'password' : 'client_credentials'
    sources.grantType = 'derived'
  }
  const base = { name, settings: Object.freeze(settings), credentials, sources: Object.freeze(sources), secretVars: vars }
  const profile: Profile = Object.freeze({ ...base, callers: callersOf(base, body[CALLERS_KEY], where, input.env, problems) })
  checkCombination(profile, where, main, input.allowMissingCredentials, problems)
  return profile
}

/**
 * What a profile inherits of a top-level value: none of its own keys, and of any other value all but a tenant's part
 * (issue 11's `upstreams` entries with an explicit URL are to be dropped here).
 */
function inheritable (key: SettingKey, value: unknown): unknown {
  if (PROFILE_OWN_KEYS.includes(key)) return undefined
  // A routing entry with an explicit URL names one tenant's host: only the named upstreams (api, ui, digital),
  // which each profile resolves for its own tenant, are inherited.
  if (key === 'upstreams' && Array.isArray(value)) return (value as UpstreamRoute[]).filter((e) => isNamedUpstream(e.upstream))
  return value
}

function checkProfileKeys (body: Record<string, unknown>, where: string, vars: SecretVars, problems: ConfigError[]): void {
  for (const key of Object.keys(body)) {
    if (key === '$comment' || key.startsWith('//') || key === CALLERS_KEY || PROFILE_KEYS.includes(key as SettingKey)) continue
    const code = 'config_unknown_setting'
    if (Object.hasOwn(SECRET_VARS, key)) {
      const name = vars[key as SecretKey]
      problems.push(new ConfigError(`${where}: "${key}" is a secret and is not read from files: set ${name} or ${name}_FILE in the environment instead, and remove it from the file`, { code }))
    } else if (Object.hasOwn(SETTINGS, key)) {
      const variable = SETTINGS[key as SettingKey].env
      problems.push(new ConfigError(`${where}: "${key}" is process-wide: set it at the top level of the file${variable !== null ? ` (or ${variable})` : ''}, where it applies to every profile`, { code }))
    } else {
      problems.push(new ConfigError(`${where}: unknown setting "${key}": a profile may set ${PROFILE_KEYS.join(', ')}`, { code }))
    }
  }
}

/** validateCombination's rules, for a profile: each names the profile, the field and the profile's own variables. */
function checkCombination (p: Profile, where: string, main: Profile, allowMissing: boolean, problems: ConfigError[]): void {
  const s = p.settings
  const c = p.credentials
  const vars = p.secretVars
  if (!allowMissing && s.grantType === 'password' && c.accessKeyId === undefined && c.origins.accessKeySecret === 'unset') {
    problems.push(new ConfigError(`${where}: "grantType" password needs an access key: set ${vars.accessKeyId} and ${vars.accessKeySecret} (or their _FILE forms), or set "grantType": "client_credentials"`, { code: 'config_missing_secret' }))
  }
  for (const key of CREDENTIAL_URL_KEYS) {
    // A value the default profile also holds was judged there already.
    if (s[key] === main.settings[key] || !plainHttpOffLoopback(s[key])) continue
    const from = p.sources[key] === 'inherited' ? ' (inherited from the top level)' : ''
    problems.push(new ConfigError(`${where}: "${key}"=${String(s[key])}${from} uses plain http off loopback: the token would travel unencrypted; use https://`, { code: 'config_unsafe' }))
  }
  if (s.maxBufferedBytes < s.maxBodyBytes && s.maxBodyBytes !== main.settings.maxBodyBytes) {
    problems.push(new ConfigError(`${where}: "maxBodyBytes" ${s.maxBodyBytes} is more than PROXY_MAX_BUFFERED_BYTES=${s.maxBufferedBytes}: a body at the limit could never be held; lower it, or raise PROXY_MAX_BUFFERED_BYTES`))
  }
  if (!isLoopbackHost(s.host) && c.apiKeys.length === 0 && !s.allowUnauthenticated) {
    problems.push(new ConfigError(`${where}: PROXY_HOST=${s.host} is not a loopback address and no ${vars.apiKeys} are set: anything that can reach ${s.host}:${s.port} would get this business unit's bearer. Set ${vars.apiKeys} (or ${vars.apiKeys}_FILE), or accept the risk with "allowUnauthenticated": true in the profile`, { code: 'config_unsafe' }))
  }
}

/** Every listener on a port of its own: the default's, the admin listener's, each profile's (0, any free port, aside). */
function checkPorts (path: string, main: Readonly<Settings>, profiles: readonly Profile[], problems: ConfigError[]): void {
  const code = 'config_port_conflict'
  const taken = new Map<number, string>()
  for (const p of profiles) {
    const port = p.settings.port
    if (p.sources.port !== 'file' || port === 0) continue
    const where = `config file ${path}: profile "${p.name}": "port" ${port}`
    if (port === main.port) {
      problems.push(new ConfigError(`${where} is the default profile's port (PROXY_PORT): give each profile a port of its own`, { code }))
    } else if (port === main.adminPort) {
      problems.push(new ConfigError(`${where} is the admin listener's (PROXY_ADMIN_PORT): give each profile a port of its own`, { code }))
    } else if (taken.has(port)) {
      problems.push(new ConfigError(`${where} is also profile "${taken.get(port) ?? ''}"'s: give each profile a port of its own`, { code }))
    } else {
      taken.set(port, p.name)
    }
  }
}

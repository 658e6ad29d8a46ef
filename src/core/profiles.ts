import { callersOf, CALLERS_KEY, namesCallers } from './callers.js'
import { ConfigError } from './errors.js'
import { collect } from './problems.js'
import { checkKeys, profileVoice, resolveProfile, type Profile } from './profile.js'
import { isNamedUpstream, type UpstreamRoute } from './routing.js'
import { DEFAULT_PROFILE, PROFILE_KEYS, PROFILE_NAME, PROFILE_OWN_KEYS, PROFILES_KEY, SETTINGS, secretVars, type SettingKey, type Settings } from './settings.js'
import { checkFileValue } from './values.js'

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
  const main = input.main
  const own = (key: string): boolean => PROFILE_KEYS.includes(key as SettingKey)
  checkKeys(body, where, vars, (key) => own(key) || key === CALLERS_KEY, `a profile may set ${PROFILE_KEYS.join(', ')}`, problems)
  const resolved = resolveProfile({
    namesCallers: namesCallers(body[CALLERS_KEY]),
    name,
    vars,
    env: input.env,
    allowMissingCredentials: input.allowMissingCredentials,
    voice: profileVoice(where),
    main,
    pick: (key, spec) => {
      if (!own(key)) return { value: main.settings[key], from: main.sources[key] }
      const raw = body[key]
      const value = raw === undefined || raw === null ? undefined : collect(problems, () => checkFileValue(raw, spec, key, `${where}: "${key}"`))
      if (value !== undefined) return { value, from: 'file' }
      const inherited = inheritable(key, input.fileValues[key])
      return inherited === undefined ? undefined : { value: inherited, from: 'inherited' }
    },
    merged: () => {
      if (body.port === undefined || body.port === null) {
        problems.push(new ConfigError(`${where}: "port" is missing: each profile listens on a port of its own, like "port": 8081`))
      }
    }
  }, problems)
  // issue 22: the profile's own named callers (never inherited).
  return Object.freeze({ ...resolved, callers: callersOf(resolved, body[CALLERS_KEY], where, input.env, problems) })
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

/** Every listener on a port of its own: the default's, the admin listener's, each profile's (0, any free port, aside). */
function checkPorts (path: string, main: Readonly<Settings>, profiles: readonly Profile[], problems: ConfigError[]): void {
  const code = 'config_port_conflict'
  const taken = new Map<number, string>()
  for (const p of profiles) {
    const port = p.settings.port
    if (p.sources.port !== 'file' || port === 0) continue
    const where = `config file ${path}: profile "${p.name}": "port" ${port}`
    if (port === main.port) {
      problems.push(new ConfigError(`${where} is the default profile's port (${SETTINGS.port.env}): give each profile a port of its own`, { code }))
    } else if (port === main.adminPort) {
      problems.push(new ConfigError(`${where} is the admin listener's (${SETTINGS.adminPort.env}): give each profile a port of its own`, { code }))
    } else if (taken.has(port)) {
      problems.push(new ConfigError(`${where} is also profile "${taken.get(port) ?? ''}"'s: give each profile a port of its own`, { code }))
    } else {
      taken.set(port, p.name)
    }
  }
}

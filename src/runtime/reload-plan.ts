/**
 * What a reload does (issue 17), as a pure function of the configuration in force and the one just read: which
 * parts of each profile to rebuild, what is applied and what waits for a restart. The settings table's `reload`
 * column decides; compose.ts carries the plan out.
 */
import type { Config, Profile, Settings } from '../core/config.js'
import { PROFILE_KEYS, SECRET_VARS, SETTINGS, type LogLevel, type SecretKey, type SettingKey, type SettingReload, type SettingSpec } from '../core/settings.js'

/** The secrets the token layer uses; the inbound keys (apiKeys) are admission's. */
const CREDENTIAL_KEYS = (Object.keys(SECRET_VARS) as SecretKey[]).filter((k): k is Exclude<SecretKey, 'apiKeys'> => k !== 'apiKeys')

/** One profile's part of a reload. */
export interface ProfileReload {
  readonly name: string
  /** The profile as it will run: the new one, with every setting that needs a restart kept at its running value. */
  readonly next: Profile
  /** Rebuild the token layer (a token setting or a credential changed). */
  readonly token: boolean
  /** Recompile the admission rules (an admission setting or the inbound keys changed). */
  readonly admission: boolean
  /** Recompile the routing table. */
  readonly routing: boolean
}

export interface ReloadPlan {
  /** The profiles in force that the new configuration still has, in order. */
  readonly profiles: readonly ProfileReload[]
  /** Names of the settings and secrets that changed and are applied (never their values). */
  readonly applied: string[]
  /** Names of the settings that changed but need a restart; left as they are. */
  readonly restartNeeded: string[]
  /** The log level to set, when it changed. */
  readonly logLevel: LogLevel | undefined
}

/** The plan from the profiles in force (`running`, the default first) to the configuration just read. */
export function planReload (running: readonly Profile[], next: Config): ReloadPlan {
  const restartNeeded = new Set<string>()
  const applied = new Set<string>()
  // A profile added, removed or moved to another port needs a restart; the others are reloaded one by one.
  const shape = (ps: readonly Profile[]): string => ps.map((p) => `${p.name}:${p.settings.port}`).join(',')
  if (shape(next.profiles) !== shape(running)) restartNeeded.add('profiles')
  const profiles: ProfileReload[] = []
  let logLevel: LogLevel | undefined
  for (const [i, was] of running.entries()) {
    const np = next.profiles.find((x) => x.name === was.name)
    if (np === undefined) continue
    const r = planProfile(was, np)
    profiles.push(r.plan)
    // A process-wide setting is the default's: it is reported once, not once per profile.
    const own = (k: string): boolean => i === 0 || !(k in SETTINGS) || PROFILE_KEYS.includes(k as SettingKey)
    const prefix = i === 0 ? '' : `profiles.${was.name}.`
    for (const k of r.applied.filter(own)) applied.add(k in SETTINGS ? `${prefix}${k}` : k)
    for (const k of r.restartNeeded.filter(own)) restartNeeded.add(`${prefix}${k}`)
    if (i === 0 && r.changed.some((k) => reloadOf(k) === 'logger')) logLevel = np.settings.logLevel
  }
  return { profiles, applied: [...applied], restartNeeded: [...restartNeeded], logLevel }
}

function reloadOf (key: SettingKey): SettingReload {
  return (SETTINGS[key] as SettingSpec).reload
}

function planProfile (was: Profile, next: Profile): { plan: ProfileReload, changed: SettingKey[], applied: string[], restartNeeded: string[] } {
  const changed = (Object.keys(SETTINGS) as SettingKey[]).filter((k) => JSON.stringify(next.settings[k]) !== JSON.stringify(was.settings[k]))
  const credentialsChanged = CREDENTIAL_KEYS.filter((k) => next.credentials[k] !== was.credentials[k])
  const keysChanged = next.credentials.apiKeys.join('\n') !== was.credentials.apiKeys.join('\n')
  // issue 22: a caller's policy, share or keys (their fingerprints) reload; its socket is bound once, at start.
  const callersChanged = callersShape(next, false) !== callersShape(was, false)
  const socketsChanged = callersShape(next, true) !== callersShape(was, true)
  const restartNeeded = changed.filter((k) => reloadOf(k) === 'restart')
  const settings: Settings = { ...next.settings }
  for (const k of restartNeeded) Object.assign(settings, { [k]: was.settings[k] })
  const changes = (part: SettingReload): boolean => changed.some((k) => reloadOf(k) === part)
  return {
    plan: {
      name: was.name,
      next: { ...next, settings: Object.freeze(settings) },
      token: changes('token') || credentialsChanged.length > 0,
      admission: changes('admission') || keysChanged || callersChanged,
      routing: changes('routing')
    },
    changed,
    applied: [...changed.filter((k) => reloadOf(k) !== 'restart'), ...credentialsChanged.map((k) => next.secretVars[k]), ...(keysChanged ? [next.secretVars.apiKeys] : []), ...(callersChanged ? ['callers'] : [])],
    restartNeeded: [...restartNeeded, ...(socketsChanged ? ['callers.socket'] : [])]
  }
}

/** The callers as a reload compares them: their sockets (`sockets`), or everything else, keys by fingerprint. */
function callersShape (p: Profile, sockets: boolean): string {
  const callers = p.callers?.callers ?? []
  return JSON.stringify(callers.map((c) => sockets ? [c.name, c.socket, c.socketMode] : { ...c, socket: undefined, socketMode: undefined }))
}

import type { Config, Profile } from '../core/config.js'
import { DEFAULT_PROFILE, PROCESS_SECRET_VARS, PROFILE_KEYS, SETTINGS, type ProcessSecretKey, type SecretKey, type SettingKey } from '../core/settings.js'

/** The effective settings and where each came from, for the start-up line. Never a secret. */
export function effectiveSettings (config: Config): Record<string, unknown> {
  const settings = profileSettings(config.profiles[0])
  // The process's own secrets (REDIS_URL) are the default profile's to show: whether set, never a value.
  for (const [key, name] of Object.entries(PROCESS_SECRET_VARS) as Array<[ProcessSecretKey, string]>) {
    const origin = config.processSecrets[key]
    if (origin !== 'unset') (settings.secrets as Record<string, string>)[name] = origin === 'file' ? `${name}_FILE` : 'env'
  }
  return { ...settings, configFile: config.configPath ?? null }
}

/** One profile's line in the start-up log and the status page (issue 12). */
export interface EffectiveProfile {
  readonly name: string
  readonly port: number
  readonly settings: Record<string, unknown>
}

/** Every profile, the default first, with its port and effective settings (secrets by origin only). */
export function effectiveProfiles (config: Config): EffectiveProfile[] {
  return config.profiles.map((p) => ({ name: p.name, port: p.settings.port, settings: profileSettings(p) }))
}

/**
 * One profile's settings with their sources, where its secrets came from and how many inbound keys it has. The
 * default lists every setting; another profile its own kind (PROFILE_KEYS), the process-wide ones being the default's.
 */
function profileSettings (profile: Profile): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const keys = profile.name === DEFAULT_PROFILE ? Object.keys(SETTINGS) as SettingKey[] : PROFILE_KEYS
  for (const key of keys) {
    const value = profile.settings[key]
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue
    out[key] = { value, from: profile.sources[key] }
  }
  const secrets: Record<string, string> = {}
  for (const [key, name] of Object.entries(profile.secretVars) as Array<[SecretKey, string]>) {
    const origin = profile.credentials.origins[key]
    if (origin !== 'unset') secrets[name] = origin === 'file' ? `${name}_FILE` : 'env'
  }
  out.secrets = secrets
  if (profile.credentials.apiKeys.length > 0) out.inboundKeys = profile.credentials.apiKeys.length
  return out
}

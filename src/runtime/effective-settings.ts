import type { Config } from '../core/config.js'
import { SECRET_VARS, SETTINGS, type SettingKey } from '../core/settings.js'

/** The effective settings and where each came from, for the start-up line. Never a secret. */
export function effectiveSettings (config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const value = config.settings[key]
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue
    out[key] = { value, from: config.sources[key] }
  }
  const secrets: Record<string, string> = {}
  for (const [key, name] of Object.entries(SECRET_VARS)) {
    const origin = config.credentials.origins[key as keyof typeof SECRET_VARS]
    if (origin !== 'unset') secrets[name] = origin === 'file' ? `${name}_FILE` : 'env'
  }
  out.secrets = secrets
  if (config.credentials.apiKeys.length > 0) out.inboundKeys = config.credentials.apiKeys.length
  out.configFile = config.configPath ?? null
  return out
}

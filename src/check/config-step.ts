import type { ConfigError, ConfigErrorCode } from '../core/errors.js'
import type { Config, Profile, Source } from '../core/config.js'
import { DEFAULT_PROFILE, PROCESS_SECRET_VARS, settingName, type ProcessSecretKey, type SecretKey, type SettingKey } from '../core/settings.js'
import { absence, demoCommand } from '../core/secrets.js'
import { basicEncodingsDiffer } from '../token/client-auth.js'
import { maskSecret, shortenId } from './mask.js'
import { step, type Cause, type Detail, type Diagnosis, type Step } from './report.js'

/** The settings the token call depends on, in the order `check` lists them. */
const TOKEN_SETTINGS: readonly SettingKey[] = ['issuer', 'tokenUrl', 'apiUrl', 'grantType', 'clientAuth', 'basicEncoding', 'scope', 'tokenTimeoutMs']
const CREDENTIALS: readonly SecretKey[] = ['clientId', 'clientSecret', 'accessKeyId', 'accessKeySecret']
const SECRETS = new Set<SecretKey>(['clientSecret', 'accessKeySecret'])

export interface ConfigJudgement {
  step: Step
  warnings: string[]
  /** Set when the token call cannot be attempted. */
  diagnosis: Diagnosis | undefined
}

/**
 * Where each variable came from, and what is missing or suspicious, for one profile (the default unless named).
 * Pure: the config is already loaded.
 */
export function judgeConfig (config: Config, env: NodeJS.ProcessEnv, profile: Profile = config.profiles[0]): ConfigJudgement {
  const c = profile.credentials
  const s = profile.settings
  const variables: Record<string, Detail> = {}
  for (const key of CREDENTIALS) {
    const name = profile.secretVars[key]
    const origin = c.origins[key]
    const value = c[key] as string | undefined
    const from = origin === 'file' ? `${name}_FILE (${env[`${name}_FILE`] ?? ''})` : origin
    variables[name] = { from, value: value === undefined || origin === 'unset' ? null : SECRETS.has(key) ? maskSecret(value) : shortenId(value) }
  }
  // The process's own secrets (REDIS_URL): whether set, never the value (it may carry a password).
  if (profile.name === DEFAULT_PROFILE) {
    for (const [key, name] of Object.entries(PROCESS_SECRET_VARS) as Array<[ProcessSecretKey, string]>) {
      const origin = config.processSecrets[key]
      if (origin !== 'unset') variables[name] = { from: origin === 'file' ? `${name}_FILE (${env[`${name}_FILE`] ?? ''})` : origin, value: '(set)' }
    }
  }
  for (const key of TOKEN_SETTINGS) {
    const name = settingName(profile.name, key)
    const value = s[key]
    if (value === undefined) {
      variables[name] = { from: 'unset', value: key === 'tokenUrl' || key === 'apiUrl' ? '(discovered from the issuer)' : null }
    } else {
      variables[name] = { from: sourceLabel(profile, key, profile.sources[key]), value: String(value) }
    }
  }

  const causes = missingPieces(profile, env)
  const details = { configFile: config.configPath ?? null, variables }
  if (causes.length > 0) {
    return {
      step: step('configuration', 'fail', `incomplete: ${causes.map((x) => x.cause).join('; ')}`, details),
      warnings: [],
      diagnosis: { problem: 'the configuration is incomplete, so no token request was sent', causes }
    }
  }
  return {
    step: step('configuration', 'ok', config.configPath !== undefined ? 'found (config file and environment)' : 'found (environment and defaults; no config file)', details),
    warnings: suspicions(profile),
    diagnosis: undefined
  }
}

function sourceLabel (profile: Profile, key: SettingKey, source: Source): string {
  if (source === 'inherited') return `inherited (config file "${key}")`
  if (source !== 'file') return source
  return profile.name === DEFAULT_PROFILE ? `config file "${key}"` : `config file, profile "${profile.name}"`
}

function missingPieces (profile: Profile, env: NodeJS.ProcessEnv): Cause[] {
  const c = profile.credentials
  const vars = profile.secretVars
  const causes: Cause[] = []
  for (const key of ['clientId', 'clientSecret'] as const) {
    if (c.origins[key] === 'unset') {
      const name = vars[key]
      causes.push({ code: 'config_missing_secret', cause: `${name} ${absence(env, name)}`, fix: `set ${name}, or ${name}_FILE to a file holding it${profile.name === DEFAULT_PROFILE ? ` (or run ${demoCommand()} to try the proxy against the simulator)` : ''}` })
    }
  }
  const hasId = c.origins.accessKeyId !== 'unset'
  const hasSecret = c.origins.accessKeySecret !== 'unset'
  const grant = settingName(profile.name, 'grantType')
  if (hasId !== hasSecret) {
    const missing = hasId ? vars.accessKeySecret : vars.accessKeyId
    causes.push({ code: 'config_missing_secret', cause: `${missing} ${absence(env, missing)} but its pair is`, fix: `set both ${vars.accessKeyId} and ${vars.accessKeySecret} (or ${missing}_FILE), or neither` })
  } else if (!hasId && profile.settings.grantType === 'password') {
    causes.push({ code: 'config_missing_secret', cause: `${grant}=password needs an access key`, fix: `set ${vars.accessKeyId} and ${vars.accessKeySecret} (a CXone user's access key), or use ${grant}=client_credentials` })
  }
  return causes
}

/** Things that are allowed but often wrong. */
function suspicions (profile: Profile): string[] {
  const c = profile.credentials
  const s = profile.settings
  const vars = profile.secretVars
  const encoding = settingName(profile.name, 'basicEncoding')
  const warnings: string[] = []
  if (s.clientAuth === 'client_secret_basic' && basicEncodingsDiffer(c.clientId, c.clientSecret)) {
    const part = basicEncodingsDiffer('', c.clientSecret) ? 'the client secret' : 'the client id'
    warnings.push(`${part} contains characters that RFC 6749 form-encodes before base64 (such as + / = % & : space or non-ASCII), so ${encoding}=rfc6749 and =raw send different Authorization headers (now: ${s.basicEncoding}); if the token endpoint answers invalid_client, run \`cxone-auth-proxy check --probe\``)
  }
  for (const key of CREDENTIALS) {
    const value = c[key] as string | undefined
    if (value !== undefined && value !== value.trim()) {
      warnings.push(`${vars[key]} starts or ends with whitespace (a space or line break copied with it?): remove it unless it is really part of the value`)
    }
  }
  if (c.accessKeySecret !== undefined && /%[0-9A-Fa-f]{2}/.test(c.accessKeySecret)) {
    warnings.push(`${vars.accessKeySecret} contains %XX sequences: it looks URL-encoded already, and the proxy encodes it once more; set the access key secret exactly as CXone shows it (ending in = rather than %3D)`)
  }
  if (s.grantType === 'client_credentials' && c.origins.accessKeyId !== 'unset' && c.origins.accessKeySecret !== 'unset') {
    const grant = settingName(profile.name, 'grantType')
    warnings.push(`${grant}=client_credentials: ${vars.accessKeyId} and ${vars.accessKeySecret} are set but ignored (that grant sends no access key); unset ${grant} to use the password grant with them, or unset the access key`)
  }
  if (profile.sources.grantType === 'derived' && s.grantType === 'client_credentials') {
    warnings.push(`no access key is set, so the grant is client_credentials; NICE documents the password grant with a user's access key for back-end apps (set ${vars.accessKeyId} and ${vars.accessKeySecret})`)
  }
  return warnings
}

/** Fixes beyond the one the loader's message names, by ConfigError code. */
const CONFIG_FIXES: Partial<Record<ConfigErrorCode, string>> = {
  config_unsafe: 'use the https:// URL (CXone\'s endpoints are all https); plain http is allowed only for loopback test servers, and a PROXY_HOST off loopback needs PROXY_API_KEYS'
}

/**
 * A configuration that does not load at all: the loader's messages already name each field and its fix; each
 * cause's code is its error's, so no advice depends on the message's words.
 */
export function configErrorJudgement (problems: readonly ConfigError[]): ConfigJudgement {
  const causes: Cause[] = problems.map((err) => ({
    code: err.code,
    cause: err.message,
    fix: CONFIG_FIXES[err.code] ?? 'correct the setting the message names, then run `cxone-auth-proxy check` again'
  }))
  return {
    step: step('configuration', 'fail', `invalid: ${problems.map((p) => p.message).join('; ')}`),
    warnings: [],
    diagnosis: { problem: 'the configuration could not be loaded', causes }
  }
}

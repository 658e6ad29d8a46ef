/**
 * Every non-secret setting: its key in proxy.config.json, the environment variable that overrides it,
 * its type and its default. The table in docs/configuration.md is this table (test/readme.test.ts checks it).
 */

export type SettingType =
  | { kind: 'string' }
  | { kind: 'url' }
  | { kind: 'enum', values: readonly string[] }
  | { kind: 'int', min: number, max: number }
  | { kind: 'ratio', min: number, max: number }
  | { kind: 'bool' }
  | { kind: 'list' }
  | { kind: 'routes' }
  | { kind: 'upstreams' }
  | { kind: 'pace' }

  | { kind: 'cache' }

export interface SettingSpec {
  readonly env: string | null
  readonly type: SettingType
  readonly default: unknown
}

const MIB = 1024 * 1024

export const DEFAULT_ISSUER = 'https://cxone.niceincontact.com'
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 8080

/**
 * NICE's Data Extraction API: one active call per tenant, at least 30 s between requests. Jobs are created by
 * POST /data-extraction/v1/jobs and POST …/jobs/sync; job status and lists are GETs and are not paced.
 */
export const DEFAULT_PACE = [
  { route: 'POST /data-extraction/*/jobs/**', method: 'POST', pattern: '/data-extraction/*/jobs/**', maxConcurrent: 1, minIntervalMs: 30_000 }
] as const

export const SETTINGS = {
  issuer: { env: 'CXONE_ISSUER', type: { kind: 'url' }, default: DEFAULT_ISSUER },
  tokenUrl: { env: 'CXONE_TOKEN_URL', type: { kind: 'url' }, default: undefined },
  apiUrl: { env: 'CXONE_API_URL', type: { kind: 'url' }, default: undefined },
  uiUrl: { env: 'CXONE_UI_URL', type: { kind: 'url' }, default: undefined },
  digitalUrl: { env: 'CXONE_DIGITAL_URL', type: { kind: 'url' }, default: undefined },
  upstreams: { env: null, type: { kind: 'upstreams' }, default: [] },
  grantType: { env: 'CXONE_GRANT_TYPE', type: { kind: 'enum', values: ['password', 'client_credentials'] }, default: undefined },
  clientAuth: { env: 'CXONE_CLIENT_AUTH', type: { kind: 'enum', values: ['client_secret_basic', 'client_secret_post'] }, default: 'client_secret_basic' },
  basicEncoding: { env: 'CXONE_BASIC_ENCODING', type: { kind: 'enum', values: ['rfc6749', 'raw'] }, default: 'rfc6749' },
  scope: { env: 'CXONE_SCOPE', type: { kind: 'string' }, default: undefined },
  refreshAhead: { env: 'CXONE_REFRESH_AHEAD', type: { kind: 'ratio', min: 0.1, max: 0.95 }, default: 0.8 },
  tokenTimeoutMs: { env: 'CXONE_TOKEN_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 120_000 }, default: 10_000 },
  configErrorRetrySec: { env: 'CXONE_CONFIG_ERROR_RETRY_SEC', type: { kind: 'int', min: 1, max: 86_400 }, default: 300 },
  host: { env: 'PROXY_HOST', type: { kind: 'string' }, default: DEFAULT_HOST },
  port: { env: 'PROXY_PORT', type: { kind: 'int', min: 0, max: 65_535 }, default: DEFAULT_PORT },
  publicUrl: { env: 'PROXY_PUBLIC_URL', type: { kind: 'url' }, default: undefined },
  adminHost: { env: 'PROXY_ADMIN_HOST', type: { kind: 'string' }, default: '0.0.0.0' },
  adminPort: { env: 'PROXY_ADMIN_PORT', type: { kind: 'int', min: 0, max: 65_535 }, default: undefined },
  allowedHosts: { env: 'PROXY_ALLOWED_HOSTS', type: { kind: 'list' }, default: [] },
  corsOrigins: { env: 'PROXY_CORS_ORIGINS', type: { kind: 'list' }, default: [] },
  allowUnauthenticated: { env: 'PROXY_ALLOW_UNAUTHENTICATED', type: { kind: 'bool' }, default: false },
  readOnly: { env: 'PROXY_READ_ONLY', type: { kind: 'bool' }, default: false },
  routes: { env: null, type: { kind: 'routes' }, default: [] },
  pace: { env: null, type: { kind: 'pace' }, default: DEFAULT_PACE },
  paceMaxWaitMs: { env: 'PROXY_PACE_MAX_WAIT_MS', type: { kind: 'int', min: 0, max: 600_000 }, default: 60_000 },

  coalesce: { env: 'PROXY_COALESCE', type: { kind: 'bool' }, default: true },
  cache: { env: null, type: { kind: 'cache' }, default: [] },
  cacheMaxBytes: { env: 'PROXY_CACHE_MAX_BYTES', type: { kind: 'int', min: 0, max: 16 * 1024 * MIB }, default: 64 * MIB },
  maxBodyBytes: { env: 'PROXY_MAX_BODY_BYTES', type: { kind: 'int', min: 0, max: 1024 * MIB }, default: 10 * MIB },
  maxHeaderBytes: { env: 'PROXY_MAX_HEADER_BYTES', type: { kind: 'int', min: 1024, max: 1 * MIB }, default: 16 * 1024 },
  maxHeaderCount: { env: 'PROXY_MAX_HEADER_COUNT', type: { kind: 'int', min: 16, max: 1000 }, default: 100 },
  bodyTimeoutMs: { env: 'PROXY_BODY_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 3_600_000 }, default: 30_000 },
  maxBufferedBytes: { env: 'PROXY_MAX_BUFFERED_BYTES', type: { kind: 'int', min: 0, max: 16 * 1024 * MIB }, default: 128 * MIB },
  headersTimeoutMs: { env: 'PROXY_HEADERS_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 600_000 }, default: 10_000 },
  upstreamTimeoutMs: { env: 'PROXY_UPSTREAM_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 3_600_000 }, default: 120_000 },
  connectTimeoutMs: { env: 'PROXY_CONNECT_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 120_000 }, default: 10_000 },
  keepAliveTimeoutMs: { env: 'PROXY_KEEP_ALIVE_TIMEOUT_MS', type: { kind: 'int', min: 1000, max: 3_600_000 }, default: 75_000 },
  upstreamConnections: { env: 'PROXY_UPSTREAM_CONNECTIONS', type: { kind: 'int', min: 1, max: 100_000 }, default: 512 },
  maxConcurrentUpstream: { env: 'PROXY_MAX_CONCURRENT_UPSTREAM', type: { kind: 'int', min: 1, max: 100_000 }, default: 512 },
  queueTimeoutMs: { env: 'PROXY_QUEUE_TIMEOUT_MS', type: { kind: 'int', min: 0, max: 60_000 }, default: 2_000 },
  redisCommandTimeoutMs: { env: 'PROXY_REDIS_COMMAND_TIMEOUT_MS', type: { kind: 'int', min: 5, max: 10_000 }, default: 50 },
  shutdownGraceMs: { env: 'PROXY_SHUTDOWN_GRACE_MS', type: { kind: 'int', min: 0, max: 600_000 }, default: 30_000 },
  // Named callers (issue 22, src/core/callers.ts): the folder of caller keys, and shadow mode for every caller.
  callerKeysDir: { env: 'PROXY_CALLER_KEYS_DIR', type: { kind: 'string' }, default: undefined },
  callersEnforce: { env: 'PROXY_CALLERS_ENFORCE', type: { kind: 'bool' }, default: true },
  logLevel: { env: 'LOG_LEVEL', type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, default: 'info' }
} as const satisfies Record<string, SettingSpec>

export type SettingKey = keyof typeof SETTINGS

/** Where the settings file is: `--config`, else this variable, else DEFAULT_CONFIG_FILE in the working folder. */
export const CONFIG_FILE_VAR = 'PROXY_CONFIG'
export const DEFAULT_CONFIG_FILE = 'proxy.config.json'

/** The outbound proxy for the token endpoint, discovery and the API, read as curl and undici read them (any case). */
export const OUTBOUND_VARS = { http: 'HTTP_PROXY', https: 'HTTPS_PROXY', no: 'NO_PROXY' } as const

/** Secrets come only from the environment, each also as NAME_FILE. */
export const SECRET_VARS = {
  clientId: 'CXONE_CLIENT_ID',
  clientSecret: 'CXONE_CLIENT_SECRET',
  accessKeyId: 'CXONE_ACCESS_KEY_ID',
  accessKeySecret: 'CXONE_ACCESS_KEY_SECRET',
  apiKeys: 'PROXY_API_KEYS'
} as const

export type SecretKey = keyof typeof SECRET_VARS

/**
 * Profiles (issue 12): several business units in one proxy, each under `profiles.<name>` in the config file, with its
 * own port, credentials and token. The top-level settings are the profile named DEFAULT_PROFILE.
 */
export const DEFAULT_PROFILE = 'default'
/** The config file's key holding the profiles, by name. */
export const PROFILES_KEY = 'profiles'
export const PROFILE_NAME = /^[a-z0-9-]{1,32}$/

/**
 * A business unit's own endpoints: a profile takes them only from its own settings or its own discovery, never from
 * the top level or the environment, so one business unit's credentials are never sent to another's endpoints. Each is
 * also a profile key, and plain http off loopback is refused for each (CREDENTIAL_URL_KEYS in values.ts).
 */
export const TENANT_KEYS: readonly SettingKey[] = ['tokenUrl', 'apiUrl', 'uiUrl', 'digitalUrl']

/** The settings a profile may set; every other one is process-wide and set at the top level only. */
export const PROFILE_KEYS: readonly SettingKey[] = [
  'port', 'issuer', ...TENANT_KEYS, 'grantType', 'clientAuth', 'basicEncoding', 'scope', 'refreshAhead',
  'tokenTimeoutMs', 'configErrorRetrySec', 'publicUrl', 'allowedHosts', 'corsOrigins', 'allowUnauthenticated',
  'readOnly', 'routes', 'maxBodyBytes', 'upstreamTimeoutMs', 'upstreams', 'pace', 'coalesce', 'cache'
]

/**
 * What a profile never inherits: its tenant's endpoints, and its own listener (a port of its own; the default's
 * public URL would rewrite links to the default's listener, and so to another business unit).
 */
export const PROFILE_OWN_KEYS: readonly SettingKey[] = [...TENANT_KEYS, 'port', 'publicUrl']

/** A profile's secrets: SECRET_VARS with the profile's name, upper-cased and `-` as `_`, in place of <NAME>. */
export const PROFILE_SECRET_VARS = {
  clientId: 'CXONE_<NAME>_CLIENT_ID',
  clientSecret: 'CXONE_<NAME>_CLIENT_SECRET',
  accessKeyId: 'CXONE_<NAME>_ACCESS_KEY_ID',
  accessKeySecret: 'CXONE_<NAME>_ACCESS_KEY_SECRET',
  apiKeys: 'PROXY_<NAME>_API_KEYS'
} as const satisfies Record<SecretKey, string>

export type SecretVars = Readonly<Record<SecretKey, string>>

/** How messages name a setting: its variable for the default profile, its place in the file for another. */
export function settingName (profile: string, key: SettingKey): string {
  return profile === DEFAULT_PROFILE ? SETTINGS[key].env ?? key : `profiles.${profile}.${key}`
}

/** The environment variables of a profile's secrets: SECRET_VARS for the default profile. */
export function secretVars (profile: string): SecretVars {
  if (profile === DEFAULT_PROFILE) return SECRET_VARS
  const name = profile.toUpperCase().replace(/-/g, '_')
  const vars = {} as Record<SecretKey, string>
  for (const [key, template] of Object.entries(PROFILE_SECRET_VARS) as Array<[SecretKey, string]>) vars[key] = template.replace('<NAME>', name)
  return Object.freeze(vars)
}

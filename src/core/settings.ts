/**
 * Every non-secret setting: its key in proxy.config.json, the environment variable that overrides it, its type, its
 * default, its scope and what a reload does with a change. The table in docs/configuration.md is this table
 * (test/readme.test.ts checks it). `Settings`, every list of keys and the enum types below are derived from it, so a
 * new setting is one row here, its consumer and its line in the docs.
 */
import type { UpstreamRoute } from './routing.js'

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

/**
 * Who a setting belongs to (issue 12): `process`, one value for every profile, set at the top level only (the
 * default's); `profile`, a profile may set it and otherwise inherits the file's top-level value; `own`, a profile
 * may set it and never inherits it (its tenant's endpoints, its own listener).
 */
export type SettingScope = 'process' | 'profile' | 'own'

/**
 * What a reload does when the value changes: rebuild the token layer (`token`), the admission rules (`admission`),
 * the routing table (`routing`), set the log level (`logger`), or nothing until a restart (`restart`).
 */
export type SettingReload = 'token' | 'admission' | 'routing' | 'logger' | 'restart'

export interface SettingSpec {
  readonly env: string | null
  readonly type: SettingType
  readonly default: unknown
  readonly scope: SettingScope
  readonly reload: SettingReload
  /** Unset, it is derived at load (the grant type, from the credentials): never undefined in `Settings`. */
  readonly derived?: true
  /** A credential or token travels to this URL: plain http off loopback is refused. */
  readonly carriesToken?: true
  /** A valid value, for the hint of a message about a bad one. */
  readonly example?: string
}

/** A route NICE paces (the "pace" setting): matching requests queue, `maxConcurrent` at once, `minIntervalMs` apart. */
export interface PaceRule {
  readonly route: string
  readonly method: string
  readonly pattern: string
  readonly maxConcurrent: number
  readonly minIntervalMs: number
}

/**
 * A micro-cache rule (the "cache" setting): 200 answers of a matching read are kept `ttlMs`, whatever their
 * Cache-Control says about freshness, unless `respectCacheControl` (then `private`, `no-cache`, `max-age=0` and
 * `s-maxage=0` answers are not stored). `no-store`, `Set-Cookie` and `Vary: *` are never stored.
 */
export interface CacheRule {
  readonly method: 'GET' | 'HEAD'
  readonly pattern: string
  readonly ttlMs: number
  readonly respectCacheControl: boolean
}

/** An allowed route (the "routes" setting). */
export interface RouteRule {
  readonly method: string
  readonly pattern: string
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
  issuer: { env: 'CXONE_ISSUER', type: { kind: 'url' }, default: DEFAULT_ISSUER, scope: 'profile', reload: 'token', carriesToken: true, example: DEFAULT_ISSUER },
  tokenUrl: { env: 'CXONE_TOKEN_URL', type: { kind: 'url' }, default: undefined, scope: 'own', reload: 'token', carriesToken: true, example: 'https://cxone.niceincontact.com/auth/token' },
  apiUrl: { env: 'CXONE_API_URL', type: { kind: 'url' }, default: undefined, scope: 'own', reload: 'token', carriesToken: true, example: 'https://api-na1.niceincontact.com' },
  uiUrl: { env: 'CXONE_UI_URL', type: { kind: 'url' }, default: undefined, scope: 'own', reload: 'token', carriesToken: true, example: 'https://na1.nice-incontact.com' },
  digitalUrl: { env: 'CXONE_DIGITAL_URL', type: { kind: 'url' }, default: undefined, scope: 'own', reload: 'token', carriesToken: true, example: 'https://api-de-na1.niceincontact.com' },
  upstreams: { env: null, type: { kind: 'upstreams' }, default: [], scope: 'profile', reload: 'routing' },
  grantType: { env: 'CXONE_GRANT_TYPE', type: { kind: 'enum', values: ['password', 'client_credentials'] }, default: undefined, scope: 'profile', reload: 'token', derived: true },
  clientAuth: { env: 'CXONE_CLIENT_AUTH', type: { kind: 'enum', values: ['client_secret_basic', 'client_secret_post'] }, default: 'client_secret_basic', scope: 'profile', reload: 'token' },
  basicEncoding: { env: 'CXONE_BASIC_ENCODING', type: { kind: 'enum', values: ['rfc6749', 'raw'] }, default: 'rfc6749', scope: 'profile', reload: 'token' },
  scope: { env: 'CXONE_SCOPE', type: { kind: 'string' }, default: undefined, scope: 'profile', reload: 'token' },
  refreshAhead: { env: 'CXONE_REFRESH_AHEAD', type: { kind: 'ratio', min: 0.1, max: 0.95 }, default: 0.8, scope: 'profile', reload: 'restart' },
  tokenTimeoutMs: { env: 'CXONE_TOKEN_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 120_000 }, default: 10_000, scope: 'profile', reload: 'token' },
  configErrorRetrySec: { env: 'CXONE_CONFIG_ERROR_RETRY_SEC', type: { kind: 'int', min: 1, max: 86_400 }, default: 300, scope: 'profile', reload: 'restart' },
  host: { env: 'PROXY_HOST', type: { kind: 'string' }, default: DEFAULT_HOST, scope: 'process', reload: 'restart' },
  port: { env: 'PROXY_PORT', type: { kind: 'int', min: 0, max: 65_535 }, default: DEFAULT_PORT, scope: 'own', reload: 'restart' },
  // issue 22: the profile's own Unix socket, beside its TCP port (runtime/sockets.ts); a call on it is a loopback call.
  socket: { env: 'PROXY_SOCKET', type: { kind: 'string' }, default: undefined, scope: 'own', reload: 'restart', example: '/run/cxone/proxy.sock' },
  socketMode: { env: 'PROXY_SOCKET_MODE', type: { kind: 'string' }, default: '0600', scope: 'own', reload: 'restart' },
  publicUrl: { env: 'PROXY_PUBLIC_URL', type: { kind: 'url' }, default: undefined, scope: 'own', reload: 'admission', example: 'http://127.0.0.1:8080' },
  adminHost: { env: 'PROXY_ADMIN_HOST', type: { kind: 'string' }, default: '0.0.0.0', scope: 'process', reload: 'restart' },
  adminPort: { env: 'PROXY_ADMIN_PORT', type: { kind: 'int', min: 0, max: 65_535 }, default: undefined, scope: 'process', reload: 'restart' },
  allowedHosts: { env: 'PROXY_ALLOWED_HOSTS', type: { kind: 'list' }, default: [], scope: 'profile', reload: 'admission' },
  corsOrigins: { env: 'PROXY_CORS_ORIGINS', type: { kind: 'list' }, default: [], scope: 'profile', reload: 'admission' },
  allowUnauthenticated: { env: 'PROXY_ALLOW_UNAUTHENTICATED', type: { kind: 'bool' }, default: false, scope: 'profile', reload: 'restart' },
  readOnly: { env: 'PROXY_READ_ONLY', type: { kind: 'bool' }, default: false, scope: 'profile', reload: 'admission' },
  // issue 23: the local auth endpoints (src/proxy/local-auth.ts) and placeholder tokens on this profile's listener.
  localAuth: { env: 'PROXY_LOCAL_AUTH', type: { kind: 'bool' }, default: false, scope: 'profile', reload: 'restart' },
  routes: { env: null, type: { kind: 'routes' }, default: [], scope: 'profile', reload: 'admission' },
  pace: { env: null, type: { kind: 'pace' }, default: DEFAULT_PACE, scope: 'profile', reload: 'restart' },
  paceMaxWaitMs: { env: 'PROXY_PACE_MAX_WAIT_MS', type: { kind: 'int', min: 0, max: 600_000 }, default: 60_000, scope: 'process', reload: 'restart' },
  coalesce: { env: 'PROXY_COALESCE', type: { kind: 'bool' }, default: true, scope: 'profile', reload: 'restart' },
  cache: { env: null, type: { kind: 'cache' }, default: [], scope: 'profile', reload: 'restart' },
  cacheMaxBytes: { env: 'PROXY_CACHE_MAX_BYTES', type: { kind: 'int', min: 0, max: 16 * 1024 * MIB }, default: 64 * MIB, scope: 'process', reload: 'restart' },
  maxBodyBytes: { env: 'PROXY_MAX_BODY_BYTES', type: { kind: 'int', min: 0, max: 1024 * MIB }, default: 10 * MIB, scope: 'profile', reload: 'restart' },
  maxHeaderBytes: { env: 'PROXY_MAX_HEADER_BYTES', type: { kind: 'int', min: 1024, max: 1 * MIB }, default: 16 * 1024, scope: 'process', reload: 'restart' },
  maxHeaderCount: { env: 'PROXY_MAX_HEADER_COUNT', type: { kind: 'int', min: 16, max: 1000 }, default: 100, scope: 'process', reload: 'restart' },
  bodyTimeoutMs: { env: 'PROXY_BODY_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 3_600_000 }, default: 30_000, scope: 'process', reload: 'restart' },
  maxBufferedBytes: { env: 'PROXY_MAX_BUFFERED_BYTES', type: { kind: 'int', min: 0, max: 16 * 1024 * MIB }, default: 128 * MIB, scope: 'process', reload: 'restart' },
  headersTimeoutMs: { env: 'PROXY_HEADERS_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 600_000 }, default: 10_000, scope: 'process', reload: 'restart' },
  upstreamTimeoutMs: { env: 'PROXY_UPSTREAM_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 3_600_000 }, default: 120_000, scope: 'profile', reload: 'restart' },
  connectTimeoutMs: { env: 'PROXY_CONNECT_TIMEOUT_MS', type: { kind: 'int', min: 100, max: 120_000 }, default: 10_000, scope: 'process', reload: 'restart' },
  keepAliveTimeoutMs: { env: 'PROXY_KEEP_ALIVE_TIMEOUT_MS', type: { kind: 'int', min: 1000, max: 3_600_000 }, default: 75_000, scope: 'process', reload: 'restart' },
  upstreamConnections: { env: 'PROXY_UPSTREAM_CONNECTIONS', type: { kind: 'int', min: 1, max: 100_000 }, default: 512, scope: 'process', reload: 'restart' },
  maxConcurrentUpstream: { env: 'PROXY_MAX_CONCURRENT_UPSTREAM', type: { kind: 'int', min: 1, max: 100_000 }, default: 512, scope: 'process', reload: 'restart' },
  queueTimeoutMs: { env: 'PROXY_QUEUE_TIMEOUT_MS', type: { kind: 'int', min: 0, max: 60_000 }, default: 2_000, scope: 'process', reload: 'restart' },
  redisCommandTimeoutMs: { env: 'PROXY_REDIS_COMMAND_TIMEOUT_MS', type: { kind: 'int', min: 5, max: 10_000 }, default: 50, scope: 'process', reload: 'restart' },
  shutdownGraceMs: { env: 'PROXY_SHUTDOWN_GRACE_MS', type: { kind: 'int', min: 0, max: 600_000 }, default: 30_000, scope: 'process', reload: 'restart' },
  // Named callers (issue 22, src/core/callers.ts): the folder of caller keys, and shadow mode for every caller.
  callerKeysDir: { env: 'PROXY_CALLER_KEYS_DIR', type: { kind: 'string' }, default: undefined, scope: 'process', reload: 'admission' },
  callersEnforce: { env: 'PROXY_CALLERS_ENFORCE', type: { kind: 'bool' }, default: true, scope: 'process', reload: 'admission' },
  logLevel: { env: 'LOG_LEVEL', type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, default: 'info', scope: 'process', reload: 'logger' }
} as const satisfies Record<string, SettingSpec>

export type SettingKey = keyof typeof SETTINGS

/** The value a setting's type holds. */
type ValueOf<T extends SettingType> =
  T extends { kind: 'string' | 'url' } ? string
    : T extends { kind: 'enum', values: ReadonlyArray<infer V> } ? V
      : T extends { kind: 'int' | 'ratio' } ? number
        : T extends { kind: 'bool' } ? boolean
          : T extends { kind: 'list' } ? readonly string[]
            : T extends { kind: 'routes' } ? readonly RouteRule[]
              : T extends { kind: 'upstreams' } ? readonly UpstreamRoute[]
                : T extends { kind: 'pace' } ? readonly PaceRule[]
                  : T extends { kind: 'cache' } ? readonly CacheRule[]
                    : never

/** A row's value in `Settings`: undefined when it has no default and is not derived. */
type SettingValue<S extends SettingSpec> = S extends { derived: true }
  ? ValueOf<S['type']>
  : S extends { default: undefined } ? ValueOf<S['type']> | undefined : ValueOf<S['type']>

/** Every setting's value, as loaded: the table's mapped type. */
export type Settings = { [K in SettingKey]: SettingValue<typeof SETTINGS[K]> }

export type GrantType = typeof SETTINGS.grantType.type.values[number]
export type ClientAuthMethod = typeof SETTINGS.clientAuth.type.values[number]
export type BasicEncoding = typeof SETTINGS.basicEncoding.type.values[number]
export type LogLevel = typeof SETTINGS.logLevel.type.values[number]

const ROWS = Object.entries(SETTINGS) as Array<[SettingKey, SettingSpec]>

/** The keys of the rows that pass `test`, in the table's order. */
function keysWhere (test: (spec: SettingSpec) => boolean): readonly SettingKey[] {
  return Object.freeze(ROWS.filter(([, spec]) => test(spec)).map(([key]) => key))
}

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
 * The process's own secrets, each also as NAME_FILE: the Redis URL a fleet shares its token through (issue 14; it
 * may carry a password). The start-up line and `check` show whether each is set, never its value.
 */
export const PROCESS_SECRET_VARS = { redisUrl: 'REDIS_URL' } as const

export type ProcessSecretKey = keyof typeof PROCESS_SECRET_VARS

/** Where a secret came from: NAME (`env`), NAME_FILE (`file`), or neither. */
export type SecretOrigin = 'env' | 'file' | 'unset'

/**
 * Profiles (issue 12): several business units in one proxy, each under `profiles.<name>` in the config file, with its
 * own port, credentials and token. The top-level settings are the profile named DEFAULT_PROFILE.
 */
export const DEFAULT_PROFILE = 'default'
/** The config file's key holding the profiles, by name. */
export const PROFILES_KEY = 'profiles'
export const PROFILE_NAME = /^[a-z0-9-]{1,32}$/

/** The URLs a credential or token travels to: plain http is allowed only to loopback test servers. */
export const CREDENTIAL_URL_KEYS = keysWhere((spec) => spec.carriesToken === true)

/** The settings a profile may set; every other one is process-wide and set at the top level only. */
export const PROFILE_KEYS = keysWhere((spec) => spec.scope !== 'process')

/**
 * What a profile never inherits: its tenant's endpoints, and its own listener (a port of its own; the default's
 * public URL would rewrite links to the default's listener, and so to another business unit).
 */
export const PROFILE_OWN_KEYS = keysWhere((spec) => spec.scope === 'own')

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

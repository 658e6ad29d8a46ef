import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError } from './errors.js'
import { SECRET_VARS, type SecretKey, type SecretOrigin, type SecretVars } from './settings.js'

/** Secret values: properties are non-enumerable so a logged or serialised object never shows them. */
export interface Credentials {
  readonly clientId: string
  readonly clientSecret: string
  readonly accessKeyId: string | undefined
  readonly accessKeySecret: string | undefined
  readonly apiKeys: readonly string[]
  /** Where each secret came from: `env`, `file` (NAME_FILE) or absent. */
  readonly origins: Readonly<Record<SecretKey, SecretOrigin>>
}

/** How to start the demo: `npm run demo` in a clone, `cxone-auth-proxy demo` in an installed copy (under node_modules). */
export function demoCommand (moduleUrl: string = import.meta.url): string {
  return /[\\/]node_modules[\\/]/.test(fileURLToPath(moduleUrl)) ? '`cxone-auth-proxy demo`' : '`npm run demo`'
}

/** Reads every secret from NAME or NAME_FILE; the client id and secret are required unless `allowMissing`.
 * Returns every problem found rather than stopping at the first, so one start names them all.
 * `vars` names the variables: SECRET_VARS, or a profile's (settings.ts `secretVars`). */
export function readCredentials (env: NodeJS.ProcessEnv, allowMissing: boolean, vars: SecretVars = SECRET_VARS): { credentials: Credentials, problems: ConfigError[] } {
  const values = {} as Record<SecretKey, string | undefined>
  const origins = {} as Record<SecretKey, SecretOrigin>
  const problems: ConfigError[] = []
  // The demo runs the top-level credentials only: a profile's message does not send the reader there.
  const demo = vars === SECRET_VARS ? `, or run ${demoCommand()} to try the proxy against the simulator` : ''
  for (const [key, name] of Object.entries(vars) as Array<[SecretKey, string]>) {
    let secret: SecretValue | undefined
    try {
      secret = readSecret(env, name)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(err)
      origins[key] = 'unset'
      continue
    }
    values[key] = secret?.value
    origins[key] = secret?.origin ?? 'unset'
  }
  const failed = (name: string): boolean => problems.some((p) => p.variable === name)
  const required: SecretKey[] = allowMissing ? [] : ['clientId', 'clientSecret']
  for (const key of required) {
    const name = vars[key]
    if (values[key] === undefined && !failed(name)) {
      problems.push(new ConfigError(`${name} ${absence(env, name)}: set it, or ${name}_FILE${demo}`, { code: 'config_missing_secret' }))
    }
  }
  if (!allowMissing && (values.accessKeyId === undefined) !== (values.accessKeySecret === undefined)) {
    const missing = values.accessKeyId === undefined ? vars.accessKeyId : vars.accessKeySecret
    if (!failed(missing)) problems.push(new ConfigError(`${missing} ${absence(env, missing)} but its pair is: set both ${vars.accessKeyId} and ${vars.accessKeySecret} (or ${missing}_FILE), or neither`, { code: 'config_missing_secret' }))
  }
  const apiKeys = values.apiKeys === undefined
    ? []
    : values.apiKeys.split(origins.apiKeys === 'file' ? /\r?\n/ : ',').map((k) => k.trim()).filter((k) => k !== '')
  const credentials = { origins: Object.freeze(origins) } as unknown as Credentials
  hide(credentials, 'clientId', values.clientId ?? '')
  hide(credentials, 'clientSecret', values.clientSecret ?? '')
  hide(credentials, 'accessKeyId', values.accessKeyId)
  hide(credentials, 'accessKeySecret', values.accessKeySecret)
  hide(credentials, 'apiKeys', Object.freeze(apiKeys))
  return { credentials: Object.freeze(credentials), problems }
}

/** "is not set", or "is empty" when the variable exists with nothing in it (an unfilled `export NAME=`). */
export function absence (env: NodeJS.ProcessEnv, name: string): string {
  return env[name] !== undefined && env[name]?.trim() === '' ? 'is set but empty' : 'is not set'
}

function hide (target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false })
}

/** Whether NAME or NAME_FILE is set, without reading either: what the start-up line shows of a secret read later. */
export function secretOrigin (env: NodeJS.ProcessEnv, name: string): SecretOrigin {
  if (nonBlank(env[name])) return 'env'
  return nonBlank(env[`${name}_FILE`]) ? 'file' : 'unset'
}

function nonBlank (value: string | undefined): boolean {
  return value !== undefined && value.trim() !== ''
}

interface SecretValue { value: string, origin: 'env' | 'file' }

/** NAME or NAME_FILE (a path; one trailing newline trimmed); both set is an error naming both. */
export function readSecret (env: NodeJS.ProcessEnv, name: string): SecretValue | undefined {
  const direct = env[name]
  const path = env[`${name}_FILE`]
  const hasDirect = direct !== undefined && direct.trim() !== ''
  const hasPath = path !== undefined && path.trim() !== ''
  if (hasDirect && hasPath) {
    throw new ConfigError(`both ${name} and ${name}_FILE are set: keep one of them`, { code: 'config_conflicting_secret', variable: name })
  }
  if (hasDirect) return { value: direct, origin: 'env' }
  if (!hasPath) return undefined
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`${name}_FILE=${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): check the path and the file's permissions`, { cause: err, code: 'config_unreadable_secret', variable: name })
  }
  const value = text.replace(/\r?\n$/, '')
  if (value === '') throw new ConfigError(`${name}_FILE=${path} is empty: put the value in the file`, { code: 'config_unreadable_secret', variable: name })
  return { value, origin: 'file' }
}


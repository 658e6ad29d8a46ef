import { API_KEYS_CALLER, callerKeyFile, callerKeyVar, CALLER_KEYS_DIR_VAR, keyFingerprint, keysDir, readCallerKeys, SHORT_KEY_CHARS, type KeySources } from './caller-keys.js'
import { DEFAULT_SOCKET_MODE, type CallerRate, readMode, readRate, readSocket, wholeNumber } from './caller-fields.js'
import { isPreset, PRESETS, type PresetName } from './caller-presets.js'
import { widerRules } from './caller-rules.js'
import { ConfigError } from './errors.js'
import { collect } from './problems.js'
import { DEFAULT_PROFILE, SETTINGS, type RouteRule } from './settings.js'
import { checkFileValue } from './values.js'

/**
 * Named callers (issue 22): `"callers": { "<name>": { …policy… } }` at the top level of proxy.config.json (the default
 * profile's) and under `profiles.<name>.callers`. Without `callers` a profile behaves exactly as before: readCallers
 * answers undefined. A caller is recognised by a key (caller-keys.ts) or by a Unix socket of its own, never by
 * anything it can claim for free; its policy can only narrow its profile's.
 */

export { DEFAULT_SOCKET_MODE, type CallerRate } from './caller-fields.js'

/** The config file's key holding a profile's callers. */
export const CALLERS_KEY = 'callers'
export const CALLER_NAME = /^[a-z0-9-]{1,32}$/


export interface Caller {
  readonly name: string
  readonly profile: string
  readonly readOnly: boolean
  readonly routes: readonly RouteRule[]
  readonly preset: PresetName | undefined
  readonly rate: CallerRate | undefined
  readonly maxConcurrent: number | undefined
  /** False: shadow mode (its own `"enforce": false`, or PROXY_CALLERS_ENFORCE=false): refusals are logged, not made. */
  readonly enforce: boolean
  readonly socket: string | undefined
  readonly socketMode: number
  /** The one caller a loopback call without key or socket of its own is taken for (`"loopback": true`). */
  readonly loopback: boolean
  /** Made for PROXY_API_KEYS, not written in the file. */
  readonly implicit: boolean
  /** Where its keys came from (a variable or a file), and their fingerprints; the keys are non-enumerable. */
  readonly keyOrigin: string | undefined
  readonly fingerprints: readonly string[]
  readonly keys: readonly string[]
}

/** A profile's callers, validated; `notes` are what `check` warns about (a rule wider than the profile's, …). */
export interface CallerSet {
  readonly profile: string
  readonly callers: readonly Caller[]
  readonly byName: ReadonlyMap<string, Caller>
  readonly loopback: Caller | undefined
  /**
   * Whether a call no caller is recognised in is refused (401): unless PROXY_CALLERS_ENFORCE=false, and then still when
   * the profile has PROXY_API_KEYS, which refused such a call before callers existed (shadow mode never lets in more).
   */
  readonly refuseUnidentified: boolean
  readonly notes: readonly string[]
}

/** What readCallers needs of its profile. */
export interface CallersInput {
  profile: string
  /** The `callers` value as parsed from the file. */
  raw: unknown
  /** Names the place in messages: `config file <path>` or `config file <path>: profile "<name>"`. */
  where: string
  /** The profile's own rules, that a caller narrows. */
  readOnly: boolean
  routes: readonly RouteRule[]
  /** PROXY_CALLERS_ENFORCE and PROXY_CALLER_KEYS_DIR (process-wide). */
  callersEnforce: boolean
  callerKeysDir: string | undefined
  /** The profile's PROXY_API_KEYS and their variable: they become the keys of the caller named API_KEYS_CALLER. */
  apiKeys: readonly string[]
  apiKeysVar: string
  env: NodeJS.ProcessEnv
  cwd?: string
}

const FIELDS = ['readOnly', 'routes', 'preset', 'rate', 'maxConcurrent', 'enforce', 'socket', 'socketMode', 'loopback'] as const
/** The policy of the caller made for PROXY_API_KEYS when the file does not name it: its profile's, unnarrowed. */
const IMPLICIT = Object.freeze({})

/** Whether a profile's raw `callers` value names at least one caller (the exposure guard of profile.ts reads it). */
export function namesCallers (raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.keys(raw).some((k) => k !== '$comment' && !k.startsWith('//'))
}

/** What callersOf reads of a profile being built. */
export interface ProfileShape {
  readonly name: string
  readonly settings: { readonly readOnly: boolean, readonly routes: readonly RouteRule[], readonly callersEnforce: boolean, readonly callerKeysDir: string | undefined }
  readonly credentials: { readonly apiKeys: readonly string[] }
  readonly secretVars: { readonly apiKeys: string }
}

/** The hook the profile reader calls (one line): readCallers for a profile being built. */
export function callersOf (p: ProfileShape, raw: unknown, where: string, env: NodeJS.ProcessEnv, problems: ConfigError[]): CallerSet | undefined {
  const s = p.settings
  return readCallers({ profile: p.name, raw, where, readOnly: s.readOnly, routes: s.routes, callersEnforce: s.callersEnforce, callerKeysDir: s.callerKeysDir, apiKeys: p.credentials.apiKeys, apiKeysVar: p.secretVars.apiKeys, env }, problems)
}

/**
 * Hook for the profile reader (profiles.ts, and config.ts for the default profile): the profile's callers, each
 * problem added to `problems` with the caller and the field named; undefined when the profile names none.
 */
export function readCallers (input: CallersInput, problems: ConfigError[]): CallerSet | undefined {
  const { raw, where } = input
  if (raw === undefined || raw === null) return undefined
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(new ConfigError(`${where}: "${CALLERS_KEY}" must be an object of named callers, like {"wallboard": {"preset": "reporting"}}`, { code: 'config_file_invalid' }))
    return undefined
  }
  const dir = collect(problems, () => keysDir(input.callerKeysDir, input.cwd)) ?? { dir: undefined, names: new Set<string>() }
  const sources: KeySources = { env: input.env, dir: dir.dir, dirNames: dir.names, apiKeys: input.apiKeys, apiKeysVar: input.apiKeysVar }
  const entries = Object.entries(raw as Record<string, unknown>).filter(([name]) => name !== '$comment' && !name.startsWith('//'))
  if (input.apiKeys.length > 0 && !entries.some(([name]) => name === API_KEYS_CALLER)) entries.push([API_KEYS_CALLER, IMPLICIT])
  const callers: Caller[] = []
  for (const [name, body] of entries) {
    const at = `${where}: caller "${name}"`
    if (!CALLER_NAME.test(name)) {
      problems.push(new ConfigError(`${where}: caller name "${name}" is not valid: use 1 to 32 lowercase letters, digits and -, like "wallboard"`))
      continue
    }
    const caller = collect(problems, () => readCaller(name, body, at, input, sources))
    if (caller !== undefined) callers.push(caller)
  }
  if (entries.length === 0) problems.push(new ConfigError(`${where}: "${CALLERS_KEY}" names no caller, so every call would be refused: name one, like {"wallboard": {"preset": "reporting"}}, or remove "${CALLERS_KEY}"`))
  problems.push(...crossChecks(callers, where))
  const notes = callers.flatMap((c) => [
    ...widerRules(c, input).map((w) => `caller "${c.name}": ${w}`),
    ...(c.keys.some((k) => k.length < SHORT_KEY_CHARS) ? [`caller "${c.name}": a key of ${c.keyOrigin ?? ''} is shorter than ${SHORT_KEY_CHARS} characters: use a long random key (for example \`openssl rand -hex 32\`)`] : [])
  ])
  notes.push(...strayKeyFiles(input.profile, dir.names, callers))
  return Object.freeze({
    profile: input.profile,
    callers: Object.freeze(callers),
    byName: new Map(callers.map((c) => [c.name, c])),
    loopback: callers.find((c) => c.loopback),
    refuseUnidentified: input.callersEnforce || input.apiKeys.length > 0,
    notes: Object.freeze(notes)
  })
}

function readCaller (name: string, body: unknown, at: string, input: CallersInput, sources: KeySources): Caller {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ConfigError(`${at} must be an object of its policy, like {"readOnly": true}`, { code: 'config_file_invalid' })
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b)) {
    if (key === '$comment' || key.startsWith('//') || (FIELDS as readonly string[]).includes(key)) continue
    if (key === 'key' || key === 'keys') throw new ConfigError(`${at}: "${key}" is a secret and is not read from files: set ${callerKeyVar(input.profile, name)} (or ${callerKeyVar(input.profile, name)}_FILE, or a file ${callerKeyFile(input.profile, name)} in ${CALLER_KEYS_DIR_VAR}) and remove it from the file`, { code: 'config_unknown_setting' })
    throw new ConfigError(`${at}: unknown field "${key}": a caller has ${FIELDS.join(', ')}`, { code: 'config_unknown_setting' })
  }
  const bool = (key: 'readOnly' | 'enforce' | 'loopback', fallback: boolean): boolean => {
    const v = b[key]
    if (v === undefined) return fallback
    if (typeof v !== 'boolean') throw new ConfigError(`${at}: "${key}" must be true or false`)
    return v
  }
  const preset = b.preset
  if (preset !== undefined && !isPreset(preset)) throw new ConfigError(`${at}: "preset" ${JSON.stringify(preset)} is not one: use ${Object.keys(PRESETS).map((p) => `"${p}"`).join(' or ')} (docs/callers.md#presets), or write "readOnly" and "routes"`)
  const routes = b.routes === undefined ? [] : checkFileValue(b.routes, SETTINGS.routes, 'routes', `${at}: "routes"`) as RouteRule[]
  const socket = readSocket(b.socket, at)
  if (b.socketMode !== undefined && socket === undefined) throw new ConfigError(`${at}: "socketMode" needs a "socket": give the caller a socket path, or remove "socketMode"`)
  const keys = readCallerKeys(input.profile, name, sources, at)
  const loopback = bool('loopback', false)
  if (keys.keys.length === 0 && socket === undefined && !loopback) {
    throw new ConfigError(`${at} has no key and no socket, so nothing can be recognised as it: set ${callerKeyVar(input.profile, name)} (or ${callerKeyVar(input.profile, name)}_FILE, or a file ${callerKeyFile(input.profile, name)} in ${CALLER_KEYS_DIR_VAR}), or give it a "socket"`, { code: 'config_missing_secret' })
  }
  const caller = {
    name,
    profile: input.profile,
    readOnly: bool('readOnly', false),
    routes: Object.freeze(routes),
    preset: preset as PresetName | undefined,
    rate: readRate(b.rate, at),
    maxConcurrent: b.maxConcurrent === undefined ? undefined : wholeNumber(b.maxConcurrent, `${at}: "maxConcurrent"`, 1, 10_000),
    enforce: bool('enforce', true) && input.callersEnforce,
    socket,
    socketMode: b.socketMode === undefined ? DEFAULT_SOCKET_MODE : readMode(b.socketMode, at, name),
    loopback,
    implicit: body === IMPLICIT,
    keyOrigin: keys.origin,
    fingerprints: Object.freeze(keys.keys.map(keyFingerprint))
  }
  Object.defineProperty(caller, 'keys', { value: Object.freeze([...keys.keys]), enumerable: false })
  return Object.freeze(caller) as Caller
}

/** A key or a socket that two callers share, or two loopback callers: each would make who called what unknowable. */
function crossChecks (callers: readonly Caller[], where: string): ConfigError[] {
  const problems: ConfigError[] = []
  const byKey = new Map<string, string>()
  const bySocket = new Map<string, string>()
  for (const c of callers) {
    for (const [i, f] of c.fingerprints.entries()) {
      const other = byKey.get(f)
      if (other !== undefined && other !== c.name) problems.push(new ConfigError(`${where}: caller "${c.name}" and caller "${other}" share a key (${f}, key ${i + 1} of ${c.keyOrigin ?? ''}): give each caller a key of its own`, { code: 'config_conflicting_secret' }))
      byKey.set(f, c.name)
    }
    if (c.socket !== undefined) {
      const other = bySocket.get(c.socket)
      if (other !== undefined) problems.push(new ConfigError(`${where}: caller "${c.name}" and caller "${other}" share the socket ${c.socket}: give each caller a socket of its own`))
      bySocket.set(c.socket, c.name)
    }
  }
  const loopback = callers.filter((c) => c.loopback)
  if (loopback.length > 1) problems.push(new ConfigError(`${where}: callers ${loopback.map((c) => `"${c.name}"`).join(' and ')} each say "loopback": true: only one caller can be the one for unidentified loopback calls`))
  return problems
}

/** Files in the keys folder that would be this profile's but name no caller of it (a typo, or a caller removed). */
function strayKeyFiles (profile: string, names: ReadonlySet<string>, callers: readonly Caller[]): string[] {
  const own = [...names].filter((n) => profile === DEFAULT_PROFILE ? !n.includes('.') : n.startsWith(`${profile}.`))
  const known = new Set(callers.map((c) => callerKeyFile(profile, c.name)))
  return own.filter((n) => !known.has(n)).map((n) => `${CALLER_KEYS_DIR_VAR} holds a file "${n}" that names no caller${profile === DEFAULT_PROFILE ? '' : ` of profile "${profile}"`}: remove it, or add the caller`)
}

import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ConfigError } from './errors.js'
import { readSecret } from './secrets.js'
import { DEFAULT_PROFILE } from './settings.js'

/**
 * Where a caller's keys come from (issue 22): never proxy.config.json. `PROXY_CALLER_<NAME>_KEY` (or `_KEY_FILE`,
 * one key a line) for the default profile's caller, `PROXY_<PROFILE>_CALLER_<NAME>_KEY` for a named profile's, or a
 * file in the PROXY_CALLER_KEYS_DIR folder: `<name>` for the default profile's caller, `<profile>.<name>` for another's
 * (a Kubernetes Secret mounted as a volume gives one file per key; its `..data` entries and dotfiles are skipped).
 */

/** The caller that the existing PROXY_API_KEYS (or a profile's PROXY_<NAME>_API_KEYS) belong to, once callers are named. */
export const API_KEYS_CALLER = 'api-keys'

/** The folder variable (also the `callerKeysDir` setting). */
export const CALLER_KEYS_DIR_VAR = 'PROXY_CALLER_KEYS_DIR'

/** Shorter keys are accepted but `check` warns: a key is the whole of a caller's authentication. */
export const SHORT_KEY_CHARS = 16

const KEY_CHARS = /^[\x21-\x7e]+$/

function upper (name: string): string {
  return name.toUpperCase().replace(/-/g, '_')
}

/** The variable holding a caller's key: PROXY_CALLER_<NAME>_KEY, or PROXY_<PROFILE>_CALLER_<NAME>_KEY. */
export function callerKeyVar (profile: string, caller: string): string {
  return profile === DEFAULT_PROFILE ? `PROXY_CALLER_${upper(caller)}_KEY` : `PROXY_${upper(profile)}_CALLER_${upper(caller)}_KEY`
}

/** The file in PROXY_CALLER_KEYS_DIR holding a caller's keys: `<name>`, or `<profile>.<name>` (a name has no dot). */
export function callerKeyFile (profile: string, caller: string): string {
  return profile === DEFAULT_PROFILE ? caller : `${profile}.${caller}`
}

/** A key as logs, metrics and `check` may show it: a hash prefix, never the key. */
export function keyFingerprint (key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 12)}`
}

/** The names in a keys folder that can be a caller's file: no dotfiles, no `..data` or `..2026_…` entries. */
export function listKeysDir (dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    throw new ConfigError(`${CALLER_KEYS_DIR_VAR}=${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): point it at the folder holding one file per caller, or unset it`, { cause: err, code: 'config_unreadable_secret' })
  }
  return names.filter((n) => !n.startsWith('.') && isFile(join(dir, n))).sort()
}

function isFile (path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** One caller's keys and where they came from (a variable or a file; never the key itself). */
export interface CallerKeys {
  readonly keys: readonly string[]
  readonly origin: string | undefined
}

export interface KeySources {
  env: NodeJS.ProcessEnv
  /** PROXY_CALLER_KEYS_DIR, resolved; and the names listKeysDir found in it. */
  dir: string | undefined
  dirNames: ReadonlySet<string>
  /** The profile's PROXY_API_KEYS, for the `api-keys` caller, and the variable's name. */
  apiKeys: readonly string[]
  apiKeysVar: string
}

/** A caller's keys from its one source; two sources, an unreadable file or a malformed key name the caller. */
export function readCallerKeys (profile: string, caller: string, src: KeySources, where: string): CallerKeys {
  const found: CallerKeys[] = []
  const variable = callerKeyVar(profile, caller)
  const secret = readSecret(src.env, variable)
  if (secret !== undefined) {
    const keys = secret.origin === 'env' ? [secret.value.trim()] : lines(secret.value)
    found.push({ keys, origin: secret.origin === 'env' ? variable : `${variable}_FILE` })
  }
  const file = callerKeyFile(profile, caller)
  if (src.dir !== undefined && src.dirNames.has(file)) {
    const path = join(src.dir, file)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw new ConfigError(`${where}: its key file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): check the file's permissions`, { cause: err, code: 'config_unreadable_secret' })
    }
    found.push({ keys: lines(text), origin: `${CALLER_KEYS_DIR_VAR}/${file}` })
  }
  if (caller === API_KEYS_CALLER && src.apiKeys.length > 0) found.push({ keys: src.apiKeys, origin: src.apiKeysVar })
  if (found.length > 1) {
    throw new ConfigError(`${where}: its keys are set twice (${found.map((f) => f.origin).join(' and ')}): keep one of them`, { code: 'config_conflicting_secret' })
  }
  const one = found[0] ?? { keys: [], origin: undefined }
  if (one.origin !== undefined && one.keys.length === 0) {
    throw new ConfigError(`${where}: ${one.origin} holds no key: put the key in it, one a line`, { code: 'config_unreadable_secret' })
  }
  const bad = one.keys.findIndex((k) => !KEY_CHARS.test(k))
  if (bad >= 0) {
    throw new ConfigError(`${where}: key ${bad + 1} of ${one.origin ?? ''} has spaces or characters a header cannot carry: use printable ASCII without spaces (for example \`openssl rand -hex 32\`)`, { code: 'config_invalid_value' })
  }
  return one
}

/** A key file holds one key a line; blank lines and surrounding whitespace are not part of a key. */
function lines (text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
}

/** The keys folder, resolved, and its names; undefined when PROXY_CALLER_KEYS_DIR is unset. */
export function keysDir (dir: string | undefined, cwd = process.cwd()): { dir: string | undefined, names: ReadonlySet<string> } {
  if (dir === undefined || dir.trim() === '') return { dir: undefined, names: new Set() }
  const path = resolve(cwd, dir)
  return { dir: path, names: new Set(listKeysDir(path)) }
}

const CALLER_KEY_FILE_VAR = /^PROXY_(?:[A-Z0-9_]+_)?CALLER_[A-Z0-9_]+_KEY_FILE$/

/**
 * Hook for src/runtime/reload.ts: the caller key files a reload reads (every PROXY_…CALLER_…_KEY_FILE, and each file in
 * PROXY_CALLER_KEYS_DIR now), so a key rotated by replacing its file is applied at once. A file added to the folder
 * later is seen only if the reloader lists the folder again on its change events (it watches folders already).
 */
export function callerKeyFiles (env: NodeJS.ProcessEnv, cwd = process.cwd()): string[] {
  const named = Object.keys(env).filter((k) => CALLER_KEY_FILE_VAR.test(k)).sort()
    .map((k) => env[k]).filter((p): p is string => p !== undefined && p.trim() !== '').map((p) => resolve(cwd, p))
  const dir = env[CALLER_KEYS_DIR_VAR]
  if (dir === undefined || dir.trim() === '') return named
  const path = resolve(cwd, dir)
  let inDir: string[] = []
  try {
    inDir = listKeysDir(path).map((n) => join(path, n))
  } catch { /* the load names an unreadable folder */ }
  return [...named, ...inDir]
}

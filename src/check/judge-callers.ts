import { accessSync, constants } from 'node:fs'
import { dirname } from 'node:path'
import { authorise, callerField, indexCallers } from '../core/caller-policy.js'
import { PRESETS } from '../core/caller-presets.js'
import type { Caller, CallerSet } from '../core/callers.js'
import type { Profile } from '../core/config.js'
import { ConfigError } from '../core/errors.js'
import { compileRoute, READ_METHODS, serverView } from '../core/paths.js'
import { settingName } from '../core/settings.js'
import type { RouteRule } from '../core/settings.js'
import { EXIT_FAILED, EXIT_OK, step, type Detail, type Diagnosis, type Step } from './report.js'

/**
 * Named callers in `check` (issue 22): each caller's policy, how it is recognised (a key's origin and fingerprint, a
 * socket), what in it reaches beyond its profile; and with `--caller <name> --route "GET /path"`, whether that caller
 * may make that call and why. Nothing is sent: the verdict is the request path's own functions (core/caller-policy.ts).
 */

/** A caller's socket folder the proxy could not create its socket in (I/O: the one filesystem look of this file). */
export function socketFolderProblems (set: CallerSet): string[] {
  const problems: string[] = []
  for (const c of set.callers) {
    if (c.socket === undefined) continue
    const folder = dirname(c.socket)
    try {
      accessSync(folder, constants.W_OK | constants.X_OK)
    } catch (err) {
      problems.push(`caller "${c.name}": the folder of its socket ${c.socket} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'}): create ${folder}, writable by the proxy's user, or choose another "socket"`)
    }
  }
  return problems
}

function describe (c: Caller): Record<string, Detail> {
  const rules = [
    ...(c.readOnly ? ['readOnly'] : []),
    ...(c.preset !== undefined ? [`preset ${c.preset}`] : []),
    ...c.routes.map((r) => `${r.method} ${r.pattern}`)
  ]
  return {
    recognisedBy: [
      ...(c.keyOrigin !== undefined ? [`key from ${c.keyOrigin} (${c.fingerprints.join(', ')})`] : []),
      ...(c.socket !== undefined ? [`socket ${c.socket} (mode 0${c.socketMode.toString(8)})`] : []),
      ...(c.loopback ? ['any loopback call without a key'] : [])
    ],
    policy: rules.length > 0 ? rules : ['the profile\'s rules only'],
    share: [c.rate !== undefined ? `${c.rate.perSecond}/s, burst ${c.rate.burst}` : 'no rate', c.maxConcurrent !== undefined ? `${c.maxConcurrent} in flight` : 'no maxConcurrent'],
    enforce: c.enforce ? 'enforced' : 'shadow mode: refusals logged and counted, not made'
  }
}

/** The callers step of a profile's check; its notes and unwritable socket folders are warnings. */
export function judgeCallers (set: CallerSet, folderProblems: readonly string[]): { step: Step, warnings: string[] } {
  const details: Record<string, Detail> = {}
  for (const c of set.callers) details[c.name] = describe(c)
  const unidentified = set.loopback !== undefined ? `key-less loopback calls are caller "${set.loopback.name}"` : set.refuseUnidentified ? 'a call no caller is recognised in is refused (401)' : 'a call no caller is recognised in is let through (PROXY_CALLERS_ENFORCE=false)'
  return {
    step: step('callers', 'ok', `${set.callers.length} named (${set.callers.map((c) => c.name).join(', ')}); ${unidentified}`, { callers: details }),
    warnings: [...set.notes, ...folderProblems]
  }
}

/** `"GET /path"` (or a bare path, read as GET) as --route gives it with --caller. */
function parseRoute (route: string): { method: string, path: string } {
  const m = /^(?:([A-Z]+)\s+)?(\/\S*)$/.exec(route.trim())
  if (m === null) throw new ConfigError(`--route ${JSON.stringify(route)}: write "METHOD /path", like --route "GET /inContactAPI/services/v31.0/skills/activity"`)
  return { method: m[1] ?? 'GET', path: (m[2] as string).split('?', 1)[0] as string }
}

function firstMatch (rules: readonly RouteRule[], method: string, path: string, fold = false): RouteRule | undefined {
  return rules.find((r) => compileRoute(fold ? { method: r.method, pattern: r.pattern.toLowerCase() } : r)(method, fold ? path.toLowerCase() : path))
}

/** `--caller <name> --route "GET /path"`: allowed or refused, by which rule; an unknown caller names the known ones. */
export function judgeCallerRoute (profile: Profile, name: string, route: string): { step: Step, diagnosis: Diagnosis | undefined, exitCode: number } {
  const set = profile.callers
  if (set === undefined) throw new ConfigError(`--caller ${name}: profile "${profile.name}" names no callers: add "callers" to it (docs/callers.md)`)
  const caller = set.byName.get(name)
  if (caller === undefined) throw new ConfigError(`--caller ${name}: profile "${profile.name}" has no such caller; its callers are ${set.callers.map((c) => c.name).join(', ')}`)
  const { method, path } = parseRoute(route)
  const shown = `${method} ${path}`
  const s = profile.settings
  const view = serverView(path) ?? path
  const profileRule = s.routes.length === 0 ? 'none (all routes)' : firstMatch(s.routes, method, view)
  const refusedByProfile = (s.readOnly && !READ_METHODS.has(method))
    ? `the profile is read-only (${settingName(profile.name, 'readOnly')})`
    : profileRule === undefined ? `it is not in the profile's "routes" (${settingName(profile.name, 'routes')})` : undefined
  const why: Record<string, Detail> = {
    profile: refusedByProfile ?? `allowed (readOnly ${String(s.readOnly)}; routes: ${typeof profileRule === 'string' ? profileRule : `"${profileRule?.method ?? ''} ${profileRule?.pattern ?? ''}"`})`,
    caller: describe(caller)
  }
  if (refusedByProfile !== undefined) {
    return refusal(shown, name, '403 forbidden_route', `the profile refuses it: ${refusedByProfile}; a caller can never exceed its profile`, why)
  }
  const policy = indexCallers(set, s).policies.get(name)
  const decision = policy === undefined ? { ok: true as const } : authorise(policy, method, path)
  if (!decision.ok) {
    const shadow = decision.enforce ? '' : ' (shadow mode: the call would be forwarded, and the refusal logged and counted)'
    return refusal(shown, name, `403 caller_forbidden${shadow}`, decision.error.message, why)
  }
  const matched = [
    ...(caller.routes.length > 0 ? [`${callerField(caller, 'routes')} "${describeRule(firstMatch(caller.routes, method, view))}"`] : []),
    ...(caller.preset !== undefined && PRESETS[caller.preset].routes.length > 0 ? [`preset ${caller.preset}'s "${describeRule(firstMatch(PRESETS[caller.preset].routes, method, view, true))}"`] : []),
    ...(caller.readOnly || (caller.preset !== undefined && PRESETS[caller.preset].readOnly) ? [`${method} is a read`] : [])
  ]
  const by = matched.length > 0 ? matched.join('; ') : 'it has no rules of its own'
  return { step: step('callers', 'ok', `caller "${name}" may call ${shown}: ${by}`, { route: shown, ...why }), diagnosis: undefined, exitCode: EXIT_OK }
}

function describeRule (r: RouteRule | undefined): string {
  return r === undefined ? '' : `${r.method} ${r.pattern}`
}

function refusal (shown: string, name: string, answer: string, reason: string, why: Record<string, Detail>): { step: Step, diagnosis: Diagnosis, exitCode: number } {
  return {
    step: step('callers', 'fail', `caller "${name}" may not call ${shown}: ${answer}`, { route: shown, reason, ...why }),
    diagnosis: { problem: `caller "${name}" would be answered ${answer}: ${reason}`, causes: [] },
    exitCode: EXIT_FAILED
  }
}

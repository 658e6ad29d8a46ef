import type { Profile } from '../core/config.js'
import { judgeCallerRoute, judgeCallers, socketFolderProblems } from './judge-callers.js'
import type { Output } from './render.js'
import { EXIT_FAILED, type Report, type Step } from './report.js'

/** The callers step of a profile's walk (after the configuration step), or undefined for a profile without callers. */
export function callersStep (profile: Profile): { step: Step, warnings: string[] } | undefined {
  const set = profile.callers
  return set === undefined ? undefined : judgeCallers(set, socketFolderProblems(set))
}

/**
 * `check --caller <name> --route "GET /path"`: the caller's verdict on one call, for the selected profile; nothing is
 * sent. Resolves to 0 (allowed) or 1 (refused); an unknown caller throws a ConfigError naming the known ones.
 */
export function runCallerCheck (profile: Profile, caller: string, route: string | undefined, out: Output): number {
  const j = judgeCallerRoute(profile, caller, route ?? 'GET /')
  out.step(j.step)
  const report: Report = { ok: j.exitCode !== EXIT_FAILED, exitCode: j.exitCode, steps: [j.step], warnings: [], diagnosis: j.diagnosis, probe: undefined }
  // The step is the verdict: no token call was made, so the walk's result line would say what did not happen.
  out.document(report)
  return j.exitCode
}

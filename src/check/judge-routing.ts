import { isNamedUpstream, UPSTREAM_SETTINGS, type RoutingTable, type SettingNamer } from '../core/routing.js'
import { DEFAULT_PROFILE, settingName } from '../core/settings.js'
import type { RouteView } from '../token/upstreams.js'
import { step, type Diagnosis, type Step } from './report.js'

/**
 * The routing table (issue 11) with each upstream's origin; with `--route`, the upstream a path goes to. Only a
 * `--route` to an upstream whose host is not known fails: an unused upstream left unset is no fault.
 */
export function judgeRouting (table: RoutingTable, rows: readonly RouteView[], route: string | undefined, nameOf: SettingNamer = (k) => settingName(DEFAULT_PROFILE, k), unresolved?: string): { step: Step, diagnosis: Diagnosis | undefined } {
  // Rows numbered in the order they are tried: a prefix given twice (an override of a default) shows both.
  const details: Record<string, string> = {}
  for (const [i, r] of rows.entries()) details[`${i + 1}. ${r.prefix}`] = `${r.upstream} → ${r.origin ?? r.problem?.message ?? 'not known: API discovery failed (above)'}`
  if (route === undefined) {
    return { step: step('routing', 'ok', `${rows.length} rows, tried in this order; the first prefix that matches whole path segments wins`, { table: details }), diagnosis: undefined }
  }
  const upstream = table.route(route.split('?', 1)[0] as string)
  const row = rows.find((r) => r.upstream === upstream)
  if (row === undefined || row.origin === null) {
    const message = row?.problem?.message ?? `the ${upstream} upstream is not known: API discovery failed (above)`
    return {
      step: step('routing', 'fail', `${route} → ${upstream}, whose host is not known`, { table: details, route: `${route} → ${upstream}` }),
      diagnosis: {
        problem: `${route} would be answered 502 upstream_not_configured`,
        causes: [{ code: 'upstream_not_configured', cause: message, fix: `set ${isNamedUpstream(upstream) ? nameOf(UPSTREAM_SETTINGS[upstream]) : 'the "upstreams" entry'} to the host's https:// origin` }]
      }
    }
  }
  const setting = isNamedUpstream(upstream) ? nameOf(UPSTREAM_SETTINGS[upstream]) : 'the "upstreams" entry'
  if (unresolved !== undefined) {
    const host = new URL(row.origin).hostname
    return {
      step: step('routing', 'fail', `${route} → ${upstream} (${row.origin}), whose host does not resolve`, { table: details, route: `${route} → ${upstream} ${row.origin}` }),
      diagnosis: {
        problem: `${route} would be answered 502 destination_unavailable`,
        causes: [{ code: 'dns_failure', cause: `${host}, the ${upstream} upstream's host, does not resolve (${unresolved})`, fix: `set ${setting} to the host's https:// origin; try \`nslookup ${host}\`` }]
      }
    }
  }
  return { step: step('routing', 'ok', `${route} → ${upstream} (${row.origin})`, { table: details, route: `${route} → ${upstream} ${row.origin}` }), diagnosis: undefined }
}

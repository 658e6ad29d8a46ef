/**
 * The API family of a request: what a 429 from CXone is taken to be about. One rule, version-independent and
 * case-insensitive (NICE's own SDK writes /InContactAPI, /incontactapi and /inContactapi; CXONE.md):
 *
 *   /inContactAPI/services/vNN.0/<resource>/…   →  /incontactapi/services/*\/<resource>
 *   /<api>/<version>/<resource>/…               →  /<api>/*\/<resource>     (data-extraction/v1, dfo/3.0, user-management/v1…)
 *   /<api>/<anything else>/…                    →  /<api>                   (UserHub's /schedules/{id}: the next segment may be an id)
 *
 * The resource is the finest grain that never holds an id: a 429 on skills activity says nothing about agent
 * states, and NICE publishes its quotas per API and resource (Data Extraction per tenant, Digital Engagement per
 * operation on contacts or messages). Empty segments are skipped (the SDK once writes /incontactapi//services).
 */
import { pathOf } from '../core/paths.js'

/** Longest resource segment kept: a family ends up in error messages and the log. */
const MAX_SEGMENT = 100
/** v31.0, v1, v2 (inContactAPI, data-extraction, user-management, tenants) or 3.0, 2.0 (dfo, engager). */
const VERSION = /^(?:v\d+(?:\.\d+)*|\d+(?:\.\d+)+)$/

/** The family of `url` on `upstream`, e.g. `api /incontactapi/services/*\/skills`. Never the query, never an id. */
export function apiFamily (upstream: string, url: string): string {
  return `${upstream} ${familyPath(url)}`
}

/** The path part of the family: `/incontactapi/services/*\/skills`, `/data-extraction/*\/jobs`, `/schedules`. */
export function familyPath (url: string): string {
  const [api, second, third, fourth] = pathOf(url).toLowerCase().split('/').filter((s) => s !== '').map((s) => s.slice(0, MAX_SEGMENT))
  if (api === undefined) return '/'
  if (api === 'incontactapi' && second === 'services') return `/incontactapi/services/*${fourth === undefined ? '' : `/${fourth}`}`
  if (second !== undefined && VERSION.test(second)) return `/${api}/*${third === undefined ? '' : `/${third}`}`
  return `/${api}`
}

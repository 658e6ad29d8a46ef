import type { RouteRule } from './settings.js'

/**
 * A caller's `preset` (issue 22): a named policy for a common case, narrowing like the caller's own `readOnly` and
 * `routes` do (a call must pass all three, and its profile's rules). Paths from ../shared/CXONE.md; the version
 * segment is `*`, and a preset's paths match case-insensitively (NICE's SDK writes /InContactAPI and /incontactapi).
 */
export interface Preset {
  readonly readOnly: boolean
  /** Empty: any route (that the other rules allow). */
  readonly routes: readonly RouteRule[]
  readonly summary: string
}

const SERVICES = '/incontactapi/services/*'

/** Real-time reads (what wallboards poll) and reporting reads, under /inContactAPI/services/vNN.0. */
const REPORTING_READS = [
  'skills/activity', 'skills/*/activity', 'skills/summary', 'skills/sla-summary', 'skills/*/summary', 'skills/*/sla-summary',
  'agents/states', 'agents/*/states', 'contacts/active', 'contacts/states', 'contacts/parked', 'contacts/completed',
  'wfm-data/**', 'server-time'
]

export const PRESETS = {
  'read-only': {
    readOnly: true,
    routes: [],
    summary: 'GET, HEAD and OPTIONS only, on any route the profile allows'
  },
  reporting: {
    readOnly: false,
    routes: [
      ...REPORTING_READS.map((p) => ({ method: 'GET', pattern: `${SERVICES}/${p}` })),
      // Data Extraction: jobs are created by POST …/jobs (and …/jobs/sync) and read back with GETs (CXONE.md).
      { method: 'GET', pattern: '/data-extraction/*/**' },
      { method: 'POST', pattern: '/data-extraction/*/jobs/**' }
    ],
    summary: 'real-time and reporting reads (GET /inContactAPI/services/*/skills/activity, …/agents/states, …/contacts/active, …/contacts/completed, …/wfm-data/**, …) and Data Extraction jobs (GET /data-extraction/**, POST /data-extraction/*/jobs/**)'
  }
} as const satisfies Record<string, Preset>

export type PresetName = keyof typeof PRESETS

export function isPreset (name: unknown): name is PresetName {
  return typeof name === 'string' && Object.hasOwn(PRESETS, name)
}

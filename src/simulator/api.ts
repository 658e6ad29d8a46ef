import { activeContacts, agentStates, paginate, skillActivity } from './realtime.js'

export interface ApiAnswer {
  status: number
  /** undefined for 204 (nothing changed since updatedSince). */
  body?: unknown
}

type Items = (now: number, updatedSince: number | undefined) => Array<Record<string, unknown>>

/** Paged real-time lists: path → how to list, the array's name, and extra top-level fields. */
const LISTS: Record<string, { items: Items, key: string, extra?: Record<string, unknown> }> = {
  '/skills/activity': { items: skillActivity, key: 'skillActivity' },
  '/agents/states': { items: agentStates, key: 'agentStates' },
  '/contacts/active': { items: activeContacts, key: 'activeContacts', extra: { businessUnitId: 4600001 } }
}

/**
 * The simulator's answer to an authorised real-time API call, as CXone shapes it: `lastPollTime`,
 * `updatedSince` filtering (204 when nothing changed), paging with absolute `_links` on the API host.
 */
export function realtimeAnswer (apiEndpoint: string, version: string, path: string, q: URLSearchParams, now: number): ApiAnswer {
  const since = q.get('updatedSince') !== null ? Date.parse(q.get('updatedSince') as string) : undefined
  const updatedSince = since !== undefined && Number.isNaN(since) ? undefined : since
  const skip = Math.max(0, Number(q.get('skip') ?? 0) || 0)
  const top = Math.max(1, Math.min(10_000, Number(q.get('top') ?? 100) || 100))
  const lastPollTime = new Date(now).toISOString()

  if (path === '/server-time') return { status: 200, body: { ServerTime: lastPollTime } }
  const one = /^\/skills\/(\d+)\/activity$/.exec(path)
  if (one !== null) return { status: 200, body: { lastPollTime, skillActivity: skillActivity(now, updatedSince, Number(one[1])) } }
  const list = LISTS[path]
  if (list === undefined) return { status: 404, body: { error: 'not_found', error_description: `no resource ${path}` } }

  const page = paginate(list.items(now, updatedSince), skip, top)
  if (page.totalRecords === 0) return { status: 204 }
  const link = (at: number): string => {
    const keep = new URLSearchParams(q)
    keep.set('skip', String(at))
    keep.set('top', String(top))
    return `${apiEndpoint}/inContactAPI/services/v${version}.0${path}?${keep.toString()}`
  }
  return {
    status: 200,
    body: {
      totalRecords: page.totalRecords,
      _links: { self: link(skip), next: page.next === undefined ? null : link(page.next.skip), previous: null },
      ...list.extra,
      lastPollTime,
      [list.key]: page.items
    }
  }
}

import { ProxyError } from '../core/errors.js'
import { isNamedUpstream, type RoutingTable } from '../core/routing.js'
import type { TenantHosts } from './discovery.js'

/** One row of the routing table as operators see it: the start-up line, readiness, `check`. */
export interface RouteView {
  prefix: string
  upstream: string
  /** The origin requests go to, or null when it is not known (yet, or at all: see `problem`). */
  origin: string | null
  problem?: { code: string, message: string }
}

/** An upstream's origin for the tenant (or why it is not known); an explicit upstream is its own origin. */
export function upstreamOrigin (upstream: string, hosts: TenantHosts): string | ProxyError {
  return isNamedUpstream(upstream) ? hosts[upstream] : upstream
}

/** Each upstream of the table with its origin: one missing from `hosts` is not discovered yet. */
export function upstreamsView (table: RoutingTable, hosts: Partial<TenantHosts> | undefined): Record<string, { origin: string } | { origin: null, problem?: { code: string, message: string } }> {
  const out: ReturnType<typeof upstreamsView> = {}
  for (const name of table.upstreams) {
    const origin = isNamedUpstream(name) ? hosts?.[name] : name
    out[name] = origin === undefined
      ? { origin: null }
      : typeof origin === 'string' ? { origin } : { origin: null, problem: { code: origin.code, message: origin.message } }
  }
  return out
}

/** The table's rows in the order they are tried, then the catch-all to `api`. */
export function routingView (table: RoutingTable, hosts: Partial<TenantHosts> | undefined): RouteView[] {
  const upstreams = upstreamsView(table, hosts)
  return [...table.entries, { prefix: '/', upstream: 'api' }].map((e) => ({ ...upstreams[e.upstream] ?? { origin: null }, prefix: e.prefix, upstream: e.upstream }))
}

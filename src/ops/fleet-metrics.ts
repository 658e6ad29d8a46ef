import { Counter, Gauge, type Registry } from 'prom-client'
import type { FleetObserver, RedisOperation } from '../token/fleet/redis-link.js'

const OPERATIONS: readonly RedisOperation[] = ['read', 'write', 'lock', 'unlock', 'invalidate', 'connection']

/**
 * The fleet's metrics, registered only when REDIS_URL is set; each profile has its own Redis link and its own
 * series (`profile`), every one at 0 from the profile's start.
 */
export function fleetMetrics (registry: Registry): (profile: string) => FleetObserver {
  const r = [registry]
  const up = new Gauge<'profile'>({ name: 'cxone_proxy_redis_up', help: '1 while Redis answers (tokens are shared across the fleet), else 0, by profile', labelNames: ['profile'], registers: r })
  const errors = new Counter<'profile' | 'operation'>({ name: 'cxone_proxy_redis_errors_total', help: 'Redis commands or connection attempts that failed or timed out, by profile and operation', labelNames: ['profile', 'operation'], registers: r })
  const hits = new Counter<'profile'>({ name: 'cxone_proxy_fleet_shared_token_hits_total', help: 'Tokens taken from Redis instead of asking the token endpoint, by profile', labelNames: ['profile'], registers: r })
  const waits = new Counter<'profile'>({ name: 'cxone_proxy_fleet_lock_waits_total', help: 'Times this replica waited for another replica\'s token request, by profile', labelNames: ['profile'], registers: r })
  const takeovers = new Counter<'profile'>({ name: 'cxone_proxy_fleet_lock_takeovers_total', help: 'Times this replica took the lock after another released it or died without a token, by profile', labelNames: ['profile'], registers: r })
  return (profile) => {
    up.set({ profile }, 0)
    for (const operation of OPERATIONS) errors.inc({ profile, operation }, 0)
    for (const c of [hits, waits, takeovers]) c.inc({ profile }, 0)
    return {
      redisUp: (value) => { up.set({ profile }, value ? 1 : 0) },
      redisError: (operation: RedisOperation) => { errors.inc({ profile, operation }) },
      sharedHit: () => { hits.inc({ profile }) },
      lockWait: () => { waits.inc({ profile }) },
      lockTakeover: () => { takeovers.inc({ profile }) }
    }
  }
}

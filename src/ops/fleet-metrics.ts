import { Counter, Gauge, type Registry } from 'prom-client'
import type { FleetObserver, RedisOperation } from '../token/fleet/redis-link.js'

/** The fleet's metrics, registered only when REDIS_URL is set. */
export function fleetMetrics (registry: Registry): FleetObserver {
  const r = [registry]
  const up = new Gauge({ name: 'cxone_proxy_redis_up', help: '1 while Redis answers (tokens are shared across the fleet), else 0', registers: r })
  const errors = new Counter<'operation'>({ name: 'cxone_proxy_redis_errors_total', help: 'Redis commands or connection attempts that failed or timed out, by operation', labelNames: ['operation'], registers: r })
  const hits = new Counter({ name: 'cxone_proxy_fleet_shared_token_hits_total', help: 'Tokens taken from Redis instead of asking the token endpoint', registers: r })
  const tokens = new Counter<'source'>({ name: 'cxone_proxy_fleet_tokens_total', help: 'Tokens this replica started using, by where they came from: redis (another replica obtained it) or token_endpoint (this replica asked)', labelNames: ['source'], registers: r })
  for (const source of ['redis', 'token_endpoint']) tokens.inc({ source }, 0)
  const waits = new Counter({ name: 'cxone_proxy_fleet_lock_waits_total', help: 'Times this replica waited for another replica\'s token request', registers: r })
  const takeovers = new Counter({ name: 'cxone_proxy_fleet_lock_takeovers_total', help: 'Times this replica took the lock after another released it or died without a token', registers: r })
  up.set(0)
  return {
    redisUp: (value) => { up.set(value ? 1 : 0) },
    redisError: (operation: RedisOperation) => { errors.inc({ operation }) },
    sharedHit: () => { hits.inc(); tokens.inc({ source: 'redis' }) },
    ownToken: () => { tokens.inc({ source: 'token_endpoint' }) },
    lockWait: () => { waits.inc() },
    lockTakeover: () => { takeovers.inc() }
  }
}

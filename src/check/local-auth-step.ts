/**
 * `check`'s look at local auth (issue 23): what a client pointed at this profile's listener would be told by
 * discovery, so an operator sees the base URL to give scripts that keep their own token code. Never fails the run.
 */
import type { Profile } from '../core/config.js'
import type { FetchFn } from '../core/http-clients.js'
import { settingName } from '../core/settings.js'
import { Discovery } from '../token/discovery.js'
import { openidDocument, tenantDocument } from '../token/local-discovery.js'
import type { TokenSet } from '../token/token-client.js'
import { step, type Detail, type Step } from './report.js'

/** The listener's origin as a script on this machine reaches it, unless PROXY_PUBLIC_URL names another. */
export function listenerOrigin (profile: Profile): string {
  const s = profile.settings
  if (s.publicUrl !== undefined) return new URL(s.publicUrl).origin
  const host = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host.includes(':') ? `[${s.host}]` : s.host
  return `http://${host}:${s.port}`
}

/** Only with local auth on: a run without it shows the steps it always did. */
export async function localAuthStep (token: TokenSet, profile: Profile, fetchFn: FetchFn): Promise<Step | undefined> {
  if (!profile.settings.localAuth) return undefined
  const s = profile.settings
  const discovery = new Discovery({ ...s, fetch: fetchFn, timeoutMs: s.tokenTimeoutMs, nameOf: (key) => settingName(profile.name, key) })
  if (!discovery.isStatic) await discovery.hosts(token.tenantId).catch(() => { /* the token's claims serve */ })
  const origin = listenerOrigin(profile)
  const openid = openidDocument(origin)
  const tenant = tenantDocument(token, discovery.tenantFields(token.tenantId), origin)
  return step('local auth', 'info', `${settingName(profile.name, 'localAuth')} is on: a script whose base URL is ${origin} is told: token endpoint ${String(openid.token_endpoint)}, api_endpoint ${String(tenant.api_endpoint)}`, {
    issuer: String(openid.issuer),
    tokenEndpoint: String(openid.token_endpoint),
    cxoneConfiguration: Object.fromEntries(Object.entries(tenant).filter((e): e is [string, Detail] => ['string', 'number', 'boolean'].includes(typeof e[1])))
  })
}

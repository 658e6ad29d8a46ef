import { describe, expect, it } from 'vitest'
import { apiFamily } from '../src/proxy/family.js'
import { SHIELD_MAX_SEC, Shield, retryAfterSeconds } from '../src/proxy/shield.js'
import { ProxyError } from '../src/core/errors.js'

describe('the API family a 429 is about', () => {
  it.each([
    ['api', '/inContactAPI/services/v31.0/skills/activity?top=3', 'api /incontactapi/services/*/skills'],
    ['api', '/inContactAPI/services/v25.0/skills/1234/activity', 'api /incontactapi/services/*/skills'],
    ['api', '/InContactAPI/services/v21.0/Skills', 'api /incontactapi/services/*/skills'],
    ['api', '/incontactapi//services/v31.0/agents/states', 'api /incontactapi/services/*/agents'],
    ['api', '/inContactAPI/services/v31.0', 'api /incontactapi/services/*'],
    ['api', '/data-extraction/v1/jobs', 'api /data-extraction/*/jobs'],
    ['api', '/data-extraction/v1/jobs/sync', 'api /data-extraction/*/jobs'],
    ['api', '/data-extraction/v2/jobs/0f3c9a/', 'api /data-extraction/*/jobs'],
    ['digital', '/dfo/3.0/contacts/123/messages', 'digital /dfo/*/contacts'],
    ['digital', '/engager/2.0/messages', 'digital /engager/*/messages'],
    ['api', '/user-management/v1/users/search', 'api /user-management/*/users'],
    ['api', '/media-playback/v1/contacts?acd-call-id=1', 'api /media-playback/*/contacts'],
    ['ui', '/tenants/v2/current', 'ui /tenants/*/current'],
    ['ui', '/schedules/8d2f/agents', 'ui /schedules'],
    ['api', '/', 'api /']
  ])('%s %s → %s', (upstream, url, family) => {
    expect(apiFamily(upstream, url)).toBe(family)
  })
})

describe('Retry-After as seconds from now', () => {
  const now = Date.parse('Tue, 01 Dec 2026 19:00:00 GMT')
  it.each([
    ['120', 120],
    [' 5 ', 5],
    [['3', '9'], 3],
    ['Tue, 01 Dec 2026 19:00:30 GMT', 30],
    ['Tuesday, 01-Dec-26 19:01:00 GMT', 60],
    ['Tue Dec  1 19:00:10 2026', 10]
  ])('%j → %d s', (value, sec) => {
    expect(retryAfterSeconds(value, now)).toBe(sec)
  })

  it.each([undefined, '', '0', '-5', '1.5', 'soon', 'Tue, 01 Dec 2026 18:59:00 GMT'])('%j arms nothing', (value) => {
    expect(retryAfterSeconds(value, now)).toBeUndefined()
  })
})

describe('the shield on a clock moved by hand', () => {
  function shield (): { s: Shield, advance: (ms: number) => void, armed: unknown[] } {
    let mono = 1000
    let wall = Date.parse('Tue, 01 Dec 2026 19:00:00 GMT')
    const armed: unknown[] = []
    const s = new Shield({ profile: 'bu1', maxWaitMs: 1000, maxWaiting: 4, now: () => mono, wallNow: () => wall, onArmed: (e) => { armed.push(e) } })
    return { s, advance: (ms) => { mono += ms; wall += ms }, armed }
  }
  const refusal = (fn: () => unknown): ProxyError => {
    try {
      fn()
    } catch (err) {
      return err as ProxyError
    }
    throw new Error('not refused')
  }
  const SKILLS = '/inContactAPI/services/v31.0/skills/activity'

  it('answers with the time that remains, rounded up', () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '10', undefined)
    expect(refusal(() => s.enter('api', SKILLS))).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSec: 10 })
    advance(3_500)
    expect(refusal(() => s.enter('api', SKILLS)).retryAfterSec).toBe(7)
    expect(s.enter('api', '/inContactAPI/services/v31.0/agents/states')).toBeUndefined()
    expect(s.enter('ui', SKILLS)).toBeUndefined()
  })

  it('caps a Retry-After beyond 10 minutes at 10 minutes, seconds or date alike', () => {
    const { s, armed } = shield()
    s.answered('api', SKILLS, 429, '86400', undefined)
    expect(refusal(() => s.enter('api', SKILLS)).retryAfterSec).toBe(SHIELD_MAX_SEC)
    s.answered('api', '/data-extraction/v1/jobs', 429, 'Wed, 02 Dec 2026 19:00:00 GMT', undefined)
    expect(refusal(() => s.enter('api', '/data-extraction/v1/jobs/sync')).retryAfterSec).toBe(600)
    expect(armed).toEqual([
      { profile: 'bu1', upstream: 'api', family: '/incontactapi/services/*/skills', retryAfterSec: 600, capped: true },
      { profile: 'bu1', upstream: 'api', family: '/data-extraction/*/jobs', retryAfterSec: 600, capped: true }
    ])
  })

  it('arms nothing for a 429 without Retry-After, nor for other statuses with one', () => {
    const { s } = shield()
    s.answered('api', SKILLS, 429, undefined, undefined)
    s.answered('api', SKILLS, 503, '30', undefined)
    expect(s.enter('api', SKILLS)).toBeUndefined()
  })

  it('once expired: one probe, the others wait; the probe\'s 429 arms it again and refuses them', async () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '2', undefined)
    advance(2_000)
    const probe = s.enter('api', SKILLS)
    expect(probe?.wait).toBeUndefined()
    const waiter = s.enter('api', SKILLS)
    expect(waiter?.wait).toBeInstanceOf(Promise)
    s.answered('api', SKILLS, 429, '4', probe)
    await expect(waiter?.wait).rejects.toMatchObject({ code: 'rate_limited', retryAfterSec: 4 })
  })

  it('a probe that leaves hands over to the longest waiter', async () => {
    const { s, advance } = shield()
    s.answered('api', SKILLS, 429, '1', undefined)
    advance(1_000)
    const probe = s.enter('api', SKILLS)
    const first = s.enter('api', SKILLS)
    const second = s.enter('api', SKILLS)
    s.leave(probe as NonNullable<typeof probe>)
    await first?.wait
    expect(first?.state).toBe('probe')
    s.answered('api', SKILLS, 200, undefined, first)
    await second?.wait
    expect(s.enter('api', SKILLS)).toBeUndefined()
  })
})

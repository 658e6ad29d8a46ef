import { describe, expect, it } from 'vitest'
import { apiFamily } from '../src/quota/family.js'
import { retryAfterSeconds } from '../src/core/retry-after.js'

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

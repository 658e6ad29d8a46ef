import { describe, expect, it } from 'vitest'
import { watchedFiles } from '../src/runtime/reload.js'

describe('a reload watches every secret file', () => {
  it('the default\'s and each profile\'s NAME_FILE, and nothing else', () => {
    const files = watchedFiles({
      CXONE_CLIENT_SECRET_FILE: '/run/s/secret',
      CXONE_BU_TWO_CLIENT_SECRET_FILE: '/run/s/bu-two-secret',
      CXONE_EMEA_ACCESS_KEY_SECRET_FILE: '/run/s/emea-key',
      PROXY_EMEA_API_KEYS_FILE: '/run/s/emea-keys',
      NODE_EXTRA_CA_CERTS: '/run/s/ca.pem',
      SOME_OTHER_FILE: '/run/s/other'
    }, '/etc/proxy.config.json', '/')
    expect(files).toEqual(['/etc/proxy.config.json', '/run/s/bu-two-secret', '/run/s/secret', '/run/s/emea-key', '/run/s/emea-keys'])
  })
})

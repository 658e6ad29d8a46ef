import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERRORS } from '../src/core/errors.js'
import { SECRET_VARS, SETTINGS } from '../src/core/settings.js'

const readme = readFileSync('README.md', 'utf8')

describe('the README documents', () => {
  it.each(Object.entries(SETTINGS))('setting %s with its key, variable and default', (key, spec) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\` |`))
    expect(row, `no configuration row for ${key}`).toBeDefined()
    if (spec.env !== null) expect(row).toContain(`\`${spec.env}\``)
    if (typeof spec.default === 'number' || typeof spec.default === 'string') expect(row).toContain(String(spec.default))
  })

  it.each(Object.values(SECRET_VARS))('secret %s and its _FILE form', (name) => {
    expect(readme).toContain(`\`${name}\` / \`${name}_FILE\``)
  })

  it.each(Object.entries(ERRORS))('error code %s with its status and Proxy-Status type', (code, spec) => {
    const row = readme.split('\n').find((line) => new RegExp(`^\\| \\d{3} \\| \`${code}\` \\|`).test(line))
    expect(row, `no error row for ${code}`).toBeDefined()
    expect(row).toContain(`| ${spec.status} |`)
    expect(row).toContain(`\`${spec.proxyStatus}\``)
  })

  it('opens with the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm run demo')
    expect(readme).toContain('npm ci && npm test')
  })
})

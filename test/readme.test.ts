import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERRORS } from '../src/core/errors.js'
import { SECRET_VARS, SETTINGS, type SettingKey } from '../src/core/settings.js'

const readme = readFileSync('README.md', 'utf8')
const configuration = readFileSync('docs/configuration.md', 'utf8')
const errors = readFileSync('docs/errors.md', 'utf8')

/** The Default cell of a setting with no plain value: what the proxy does instead, in words. */
const NO_PLAIN_DEFAULT: Partial<Record<SettingKey, string>> = {
  tokenUrl: 'discovered',
  apiUrl: 'discovered',
  grantType: '`password` with an access key, else `client_credentials`',
  scope: 'not sent',
  publicUrl: 'the request\'s `Host`',
  adminPort: 'off',
  allowedHosts: 'none',
  corsOrigins: 'none',
  routes: 'none (all routes)',
  cache: 'none (nothing cached)'
}

function cells (row: string): string[] {
  return row.split(' | ').map((c) => c.replace(/^\| |\|$/g, '').trim())
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => statSync(join(dir, name)).isDirectory() ? sourceFiles(join(dir, name)) : [join(dir, name)])
}

describe('docs/configuration.md documents', () => {
  it.each(Object.entries(SETTINGS))('setting %s with its key, variable and exact default', (key, spec) => {
    const row = configuration.split('\n').find((line) => line.startsWith(`| \`${key}\` |`))
    expect(row, `no configuration row for ${key}`).toBeDefined()
    const [, variable, defaultCell] = cells(row as string)
    expect(variable).toBe(spec.env === null ? '(file only)' : `\`${spec.env}\``)
    const scalar = typeof spec.default === 'number' || typeof spec.default === 'string' || typeof spec.default === 'boolean'
    expect(defaultCell).toBe(scalar ? `\`${String(spec.default)}\`` : NO_PLAIN_DEFAULT[key as SettingKey])
  })

  it.each(Object.values(SECRET_VARS))('secret %s and its _FILE form', (name) => {
    expect(configuration).toContain(`| \`${name}\` / \`${name}_FILE\` |`)
  })
})

describe('docs/errors.md documents', () => {
  it.each(Object.entries(ERRORS))('error code %s with its status and Proxy-Status type', (code, spec) => {
    const row = errors.split('\n').find((line) => new RegExp(`^\\| \\d{3} \\| \`${code}\` \\|`).test(line))
    expect(row, `no error row for ${code}`).toBeDefined()
    const [status, , proxyStatus] = cells(row as string)
    expect(status).toBe(String(spec.status))
    expect(proxyStatus?.split(', ')[0]).toBe(`\`${spec.proxyStatus}\``)
  })
})

describe('the README', () => {
  it('opens with the two quick-start commands', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'))
    const block = quickStart.slice(quickStart.indexOf('```sh'), quickStart.indexOf('```', quickStart.indexOf('```sh') + 5))
    expect(block).toContain('npm ci && npm run demo')
    expect(block).toContain('npm ci && npm test')
  })

  it('names every environment variable the sources read', () => {
    const names = new Set(sourceFiles('src').flatMap((file) => readFileSync(file, 'utf8').match(/(CXONE|PROXY)_[A-Z0-9_]+/g) ?? []))
    expect(names.size).toBeGreaterThan(30)
    expect([...names].filter((name) => !readme.includes(name))).toEqual([])
  })

  it('links only to pages that exist (but the architecture page, which is to be written)', () => {
    const links = [...readme.matchAll(/\]\(((?:docs\/|examples\/|[A-Z]+\.md)[^)#]*)/g)].map((m) => m[1] as string)
    expect(links.length).toBeGreaterThan(5)
    expect(links.filter((link) => link !== 'docs/architecture.md' && !existsSync(link))).toEqual([])
  })

  it('never tells the reader to fetch the package by name from the npm registry', () => {
    const docs = [readme, ...readdirSync('docs').map((f) => readFileSync(join('docs', f), 'utf8'))].join('\n')
    const byName = docs.split('\n').filter((line) => /npx cxone-auth-proxy|npm (install|i) (-g )?cxone-auth-proxy(\s|$)/.test(line) && !/do not run/.test(line))
    expect(byName).toEqual([])
  })
})

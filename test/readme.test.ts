import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/core/config.js'
import { CONFIG_ERRORS, ERRORS } from '../src/core/errors.js'
import { CONFIG_FILE_VAR, OUTBOUND_VARS, PROFILE_SECRET_VARS, SECRET_VARS, SETTINGS, type SettingKey, PROCESS_SECRET_VARS } from '../src/core/settings.js'
const REDIS_URL_VAR = PROCESS_SECRET_VARS.redisUrl

const readme = readFileSync('README.md', 'utf8')
const configuration = readFileSync('docs/configuration.md', 'utf8')
const errors = readFileSync('docs/errors.md', 'utf8')

/** The Default cell of a setting with no plain value: what the proxy does instead, in words. */
const NO_PLAIN_DEFAULT: Partial<Record<SettingKey, string>> = {
  tokenUrl: 'discovered',
  apiUrl: 'discovered',
  uiUrl: 'discovered (`ui_endpoint`)',
  digitalUrl: 'discovered (`https://api-de-{area}.{domain}`)',
  upstreams: 'none (the default table)',
  grantType: '`password` with an access key, else `client_credentials`',
  scope: 'not sent',
  publicUrl: 'the request\'s `Host`',
  socket: 'none',
  adminPort: 'off',
  allowedHosts: 'none',
  corsOrigins: 'none',
  routes: 'none (all routes)',
  pace: '`POST /data-extraction/*/jobs/**`: 1 at a time, 30 s apart',
  cache: 'none (nothing cached)',
  callerKeysDir: 'none'
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

  it.each([...Object.values(SECRET_VARS), ...Object.values(PROFILE_SECRET_VARS)])('secret %s and its _FILE form', (name) => {
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

describe('docs/errors.md documents the configuration errors', () => {
  it.each(Object.entries(CONFIG_ERRORS))('code %s with its remedy', (code, spec) => {
    const row = errors.split('\n').find((line) => line.startsWith(`| \`${code}\` |`))
    expect(row, `no configuration error row for ${code}`).toBeDefined()
    expect(cells(row as string)[2]?.toLowerCase()).toBe(`${spec.remedy}.`.toLowerCase())
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
    // A profile's variables are patterns in the sources: CXONE_<NAME>_CLIENT_ID.
    const names = new Set(sourceFiles('src').flatMap((file) => readFileSync(file, 'utf8').match(/(CXONE|PROXY)_(<NAME>_)?[A-Z0-9_]+/g) ?? []))
    expect(names.size).toBeGreaterThan(30)
    expect([...names].filter((name) => name.includes('<NAME>')).sort()).toEqual(Object.values(PROFILE_SECRET_VARS).sort())
    expect([...names].filter((name) => !readme.includes(name))).toEqual([])
  })

  it('is readable in five minutes: at most 350 lines, reference in docs/ (issue 25)', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(350)
  })

  it('keeps its order: what it solves, quick start, a script, configuration, check, operations, errors, security, performance, development', () => {
    const order = ['## Quick start', '## Pointing a script at it', '## Configuration essentials', '## Troubleshooting with `check`', '## Operations', '## Errors', '## Security', '## Performance', '## Development']
    const at = order.map((h) => readme.indexOf(`\n${h}\n`))
    expect(at.every((i) => i > 0), order.filter((_h, i) => (at[i] as number) < 0).join(', ')).toBe(true)
    expect(at).toEqual([...at].sort((a, b) => a - b))
  })

  it('lists every variable the proxy reads once, REDIS_URL and the outbound ones included', () => {
    const list = readme.slice(readme.indexOf('Every variable, each described'), readme.indexOf('### Several business units'))
    const read = [...Object.values(SETTINGS).map((s) => s.env), ...Object.values(SECRET_VARS), ...Object.values(PROFILE_SECRET_VARS), REDIS_URL_VAR, CONFIG_FILE_VAR, ...Object.values(OUTBOUND_VARS), 'NODE_EXTRA_CA_CERTS']
      .filter((v): v is string => v !== null)
    // What the sources read beyond CXONE_* and PROXY_* (REDIS_URL, LOG_LEVEL, …) is named too.
    const others = new Set(sourceFiles('src').flatMap((file) => readFileSync(file, 'utf8').match(/\b(REDIS_URL|LOG_LEVEL|NODE_EXTRA_CA_CERTS|HTTPS?_PROXY|NO_PROXY)\b/g) ?? []))
    expect(others.has('REDIS_URL')).toBe(true)
    for (const name of others) expect(read, name).toContain(name)
    for (const name of read) expect(list.match(new RegExp(`\`${name.replace(/[<>]/g, '\\$&')}\``, 'g'))?.length, name).toBe(1)
  })

  it('shows a complete example of several business units that loads, with each profile\'s base URL', () => {
    const section = readme.slice(readme.indexOf('## Several business units'), readme.indexOf('\n## ', readme.indexOf('## Several business units') + 3))
    const block = (lang: string): string => section.slice(section.indexOf(`\`\`\`${lang}\n`) + lang.length + 4, section.indexOf('```', section.indexOf(`\`\`\`${lang}\n`) + 3))
    const env = Object.fromEntries([...block('sh').matchAll(/\b([A-Z0-9_]+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]))
    const path = join(mkdtempSync(join(tmpdir(), 'readme-profiles-')), 'proxy.config.json')
    writeFileSync(path, block('json'))
    const config = loadConfig({ env, configPath: path })
    expect(config.profiles.length).toBeGreaterThan(1)
    for (const p of config.profiles) {
      expect(p.credentials.clientId, p.name).not.toBe('')
      const who = p.name === 'default' ? 'the default profile\'s business unit' : `profile \`${p.name}\``
      expect(section).toContain(`| ${who} | \`http://127.0.0.1:${p.settings.port}\` |`)
    }
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

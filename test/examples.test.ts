import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { loadConfig } from '../src/core/config.js'
import { CONFIG_FILE_VAR, OUTBOUND_VARS, PROFILE_NAME, SECRET_VARS, SETTINGS, secretVars, PROCESS_SECRET_VARS } from '../src/core/settings.js'
const REDIS_URL_VAR = PROCESS_SECRET_VARS.redisUrl
import { DEMO_CREDENTIALS } from '../src/simulator/simulator.js'

/**
 * Every manifest and compose file under examples/ works as written (issue 25): it parses, every Secret it mounts is
 * created by the README or docs, every file a `*_FILE` variable names is a key of the mounted Secret, every variable
 * is one the proxy (or the example job) reads and the README names, ports and probes agree with the image.
 */

// Parsed YAML is untyped: the test walks it as Kubernetes and compose define it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>
const readme = readFileSync('README.md', 'utf8')
const docs = [readme, ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => readFileSync(join('docs', f), 'utf8'))].join('\n')
const dockerfile = readFileSync('Dockerfile', 'utf8')
const imageEnv = (name: string): string => new RegExp(`${name}=(\\S+)`).exec(dockerfile)?.[1] ?? ''
const PROXY_PORT = Number(imageEnv('PROXY_PORT'))
const ADMIN_PORT = Number(imageEnv('PROXY_ADMIN_PORT'))
const IMAGE_TAG = /docker build -t (\S+) \./.exec(readme)?.[1] as string
const JOB_VARS = new Set([...readFileSync('examples/python/queue_snapshot.py', 'utf8').matchAll(/os\.environ\.get\("([A-Z_]+)"/g)].map((m) => m[1] as string))

/** The variables the proxy reads, for the default profile and the named ones. */
function proxyVars (profiles: readonly string[]): Set<string> {
  const plain = [...Object.values(SETTINGS).map((s) => s.env).filter((e): e is NonNullable<typeof e> => e !== null), CONFIG_FILE_VAR, ...Object.values(OUTBOUND_VARS), 'NODE_EXTRA_CA_CERTS']
  const secrets = [...profiles, 'default'].flatMap((p) => Object.values(secretVars(p))).concat(Object.values(SECRET_VARS), REDIS_URL_VAR)
  return new Set([...plain, ...secrets, ...secrets.map((s) => `${s}_FILE`)])
}

/** `kubectl create secret generic NAME --from-file=[key=]path …` in the README and docs: name → keys. */
function createdSecrets (): Map<string, Set<string>> {
  const created = new Map<string, Set<string>>()
  for (const m of docs.matchAll(/kubectl create secret generic ([a-z0-9-]+)((?:\s*\\?\n?\s*--from-(?:file|literal)=\S+)+)/g)) {
    const keys = [...(m[2] as string).matchAll(/--from-(file|literal)=(\S+)/g)].map(([, kind, arg]) => {
      const a = arg as string
      if (kind === 'literal') return a.split('=')[0] as string
      return a.includes('=') ? a.split('=')[0] as string : basename(a)
    })
    created.set(m[1] as string, new Set([...(created.get(m[1] as string) ?? []), ...keys]))
  }
  return created
}

const k8sFiles = readdirSync('examples/kubernetes').filter((f) => f.endsWith('.yaml'))
const k8s = k8sFiles.flatMap((f) => parseAllDocuments(readFileSync(join('examples/kubernetes', f), 'utf8')).map((d) => ({ file: f, obj: d.toJS() as Obj })))
const secretObjs = new Map(k8s.filter((d) => d.obj.kind === 'Secret').map((d) => [d.obj.metadata.name as string, new Set(Object.keys(d.obj.stringData ?? d.obj.data ?? {}))]))
const configMaps = new Map(k8s.filter((d) => d.obj.kind === 'ConfigMap').map((d) => [d.obj.metadata.name as string, d.obj.data as Record<string, string>]))
const pods = k8s.filter((d) => d.obj.kind === 'Deployment' || d.obj.kind === 'Job').map((d) => ({ file: d.file, spec: d.obj.spec.template.spec as Obj }))
const isProxy = (c: Obj): boolean => /cxone-auth-proxy/.test(String(c.image))

describe('examples/kubernetes', () => {
  it('every document parses and names its apiVersion, kind and metadata.name', () => {
    expect(k8s.length).toBeGreaterThan(4)
    for (const { file, obj } of k8s) {
      expect(obj.apiVersion, file).toMatch(/^(v1|apps\/v1|batch\/v1)$/)
      expect(obj.kind, file).toMatch(/^(Secret|ConfigMap|Deployment|Job)$/)
      expect(obj.metadata?.name, file).toMatch(/^[a-z0-9-]+$/)
    }
  })

  it('every Secret a pod needs is created by the README or docs with the keys secret.yaml gives it', () => {
    const created = createdSecrets()
    for (const { file, spec } of pods) {
      for (const v of (spec.volumes ?? []) as Obj[]) {
        if (v.secret === undefined || v.secret.optional === true) continue
        const name = v.secret.secretName as string
        expect(created.has(name), `${file}: Secret ${name} is mounted but never created in the README or docs`).toBe(true)
        expect([...created.get(name) ?? []].sort(), `${file}: Secret ${name}'s keys`).toEqual([...secretObjs.get(name) ?? []].sort())
      }
    }
  })

  it.each(pods.map((p) => [p.file, p.spec] as const))('%s: every *_FILE is a key of the Secret mounted there, every variable is read and documented', (file, spec) => {
    const volumes = new Map(((spec.volumes ?? []) as Obj[]).map((v) => [v.name as string, v]))
    const config = proxyConfig(spec, volumes)
    const known = proxyVars(Object.keys(config?.profiles ?? {}))
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])] as Obj[]) {
      for (const e of (c.env ?? []) as Obj[]) {
        const name = e.name as string
        if (isProxy(c)) {
          expect(known.has(name), `${file}: ${c.name} sets ${name}, which the proxy does not read`).toBe(true)
          expect(readme, `${name} is not in the README`).toContain(name.replace(/_FILE$/, ''))
        } else {
          expect(JOB_VARS.has(name) || name === 'PYTHONUNBUFFERED', `${file}: ${c.name} sets ${name}, which the job does not read`).toBe(true)
        }
        if (e.valueFrom?.secretKeyRef !== undefined) expect(secretObjs.get(e.valueFrom.secretKeyRef.name)?.has(e.valueFrom.secretKeyRef.key), `${file}: ${name}`).toBe(true)
        if (!name.endsWith('_FILE') || name === `${CONFIG_FILE_VAR}_FILE`) continue
        const mount = ((c.volumeMounts ?? []) as Obj[]).find((m) => (e.value as string).startsWith(`${m.mountPath as string}/`))
        const secret = volumes.get(mount?.name)?.secret
        expect(secret, `${file}: ${name}=${e.value as string} is under no mounted Secret`).toBeDefined()
        expect([...secretObjs.get(secret.secretName) ?? []], `${file}: ${name}=${e.value as string}`).toContain(basename(e.value))
      }
    }
  })

  it.each(pods.map((p) => [p.file, p.spec] as const))('%s: the proxy\'s probes use the admin port, and only readiness waits for a token', (file, spec) => {
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])].filter(isProxy) as Obj[]) {
      const named = new Map(((c.ports ?? []) as Obj[]).map((p) => [p.name as string, p.containerPort as number]))
      for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const probe = c[kind]?.httpGet as Obj | undefined
        if (probe === undefined) continue
        expect(named.get(probe.port) ?? probe.port, `${file} ${kind}`).toBe(ADMIN_PORT)
        // A probe that restarts or holds back the pod on /readyz restart-loops it on bad credentials (docs/operations.md).
        expect(probe.path, `${file} ${kind}`).toBe(kind === 'readinessProbe' ? '/_proxy/readyz' : '/_proxy/healthz')
      }
    }
  })

  it.each(pods.map((p) => [p.file, p.spec] as const))('%s: every base URL a job calls is a port the proxy listens on', (file, spec) => {
    const volumes = new Map(((spec.volumes ?? []) as Obj[]).map((v) => [v.name as string, v]))
    const config = proxyConfig(spec, volumes)
    const ports = new Set([PROXY_PORT, ...Object.values((config?.profiles ?? {}) as Record<string, { port: number }>).map((p) => p.port)])
    const urls = ((spec.containers ?? []) as Obj[]).filter((c) => !isProxy(c)).flatMap((c) => ((c.env ?? []) as Obj[]).filter((e) => e.name === 'CXONE_AUTH_PROXY_URL').map((e) => e.value as string))
    expect(urls.length, file).toBeGreaterThan(0)
    for (const url of urls) expect(ports, `${file}: ${url}`).toContain(Number(new URL(url).port))
    // Every profile's port has a job calling it: a profile nobody calls is a business unit the example forgot.
    expect(new Set(urls.map((u) => Number(new URL(u).port)))).toEqual(ports)
  })
})

/** The config file a pod's proxy reads (PROXY_CONFIG under a ConfigMap mount), loaded as `start` loads it. */
function proxyConfig (spec: Obj, volumes: Map<string, Obj>): Obj | undefined {
  const proxy = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].find(isProxy) as Obj
  const path = ((proxy.env ?? []) as Obj[]).find((e) => e.name === CONFIG_FILE_VAR)?.value as string | undefined
  if (path === undefined) return undefined
  const mount = ((proxy.volumeMounts ?? []) as Obj[]).find((m) => path.startsWith(`${m.mountPath as string}/`)) as Obj
  const text = configMaps.get(volumes.get(mount.name)?.configMap?.name)?.[basename(path)] as string
  const json = JSON.parse(text) as Obj
  const env: Record<string, string> = {}
  for (const p of ['default', ...Object.keys(json.profiles ?? {})]) {
    expect(p).toMatch(PROFILE_NAME)
    const vars = secretVars(p)
    Object.assign(env, { [vars.clientId]: DEMO_CREDENTIALS.clientId, [vars.clientSecret]: DEMO_CREDENTIALS.clientSecret, [vars.accessKeyId]: DEMO_CREDENTIALS.accessKeyId, [vars.accessKeySecret]: DEMO_CREDENTIALS.accessKeySecret })
  }
  const file = join(mkdtempSync(join(tmpdir(), 'examples-')), 'proxy.config.json')
  writeFileSync(file, text)
  expect(() => loadConfig({ env, configPath: file }), 'the ConfigMap\'s proxy.config.json loads').not.toThrow()
  return json
}

const composeFiles = readdirSync('examples').filter((f) => /^docker-compose.*\.yml$/.test(f))
/** The fleet's file starts "with the four CXone files of docker-compose.yml": the headers together write every file. */
const composeHeaders = composeFiles.map((f) => readFileSync(join('examples', f), 'utf8').split('\n').filter((l) => l.startsWith('#')).join('\n')).join('\n')

describe.each(composeFiles)('examples/%s', (file) => {
  const text = readFileSync(join('examples', file), 'utf8')
  const doc = parse(text) as Obj
  const services = doc.services as Record<string, Obj>
  const proxy = Object.values(services).find((s) => /^cxone-auth-proxy/.test(String(s.image))) as Obj

  it('builds the image the README builds', () => {
    expect(proxy.image).toBe(IMAGE_TAG)
    expect(proxy.build?.context).toBe('..')
  })

  it('every *_FILE is a compose secret of the service, written by the header\'s commands, and the settings load', () => {
    const env = proxy.environment as Record<string, string>
    const known = proxyVars([])
    const loaded: Record<string, string> = {}
    const dir = mkdtempSync(join(tmpdir(), 'compose-'))
    for (const [name, value] of Object.entries(env)) {
      expect(known.has(name), `${name} is not read by the proxy`).toBe(true)
      expect(readme, `${name} is not in the README`).toContain(name.replace(/_FILE$/, ''))
      if (!name.endsWith('_FILE')) { loaded[name] = String(value); continue }
      const secret = /^\/run\/secrets\/([a-z_]+)$/.exec(value)?.[1] as string
      expect(secret, `${name}=${value}`).toBeDefined()
      expect(proxy.secrets, name).toContain(secret)
      expect(doc.secrets[secret]?.file).toBe(`./secrets/${secret}`)
      expect(composeHeaders, `a compose file's header writes secrets/${secret}`).toMatch(new RegExp(`> secrets/${secret}\\b`))
      const base = name.slice(0, -'_FILE'.length)
      const sample = base === REDIS_URL_VAR ? 'redis://127.0.0.1:6379/0' : base === 'PROXY_API_KEYS' ? 'k'.repeat(48) : (DEMO_CREDENTIALS as unknown as Record<string, string>)[camel(base)] ?? 'value'
      writeFileSync(join(dir, secret), sample)
      loaded[name] = join(dir, secret)
    }
    expect(() => loadConfig({ env: loaded, skipDefaultFile: true }), 'the service\'s environment loads').not.toThrow()
  })

  it('checks health on the image\'s admin port, and the job calls the proxy\'s port', () => {
    expect(JSON.stringify(proxy.healthcheck.test)).toContain(`http://127.0.0.1:${ADMIN_PORT}/_proxy/healthz`)
    for (const p of (proxy.ports ?? []) as string[]) expect(p).toBe(`127.0.0.1:${ADMIN_PORT}:${ADMIN_PORT}`)
    const jobs = Object.values(services).filter((s) => s.environment?.CXONE_AUTH_PROXY_URL !== undefined)
    expect(jobs.length).toBeGreaterThan(0)
    for (const s of jobs) expect(Number(new URL(s.environment.CXONE_AUTH_PROXY_URL as string).port)).toBe(PROXY_PORT)
    for (const s of jobs) for (const name of Object.keys(s.environment as Obj)) expect(JOB_VARS.has(name) || name === 'PYTHONUNBUFFERED', name).toBe(true)
  })
})

describe('the docs\' readyz examples', () => {
  it('show the upstreams the answer carries', () => {
    const lines = docs.split('\n').filter((l) => /_proxy\/readyz/.test(l) && /\{"status":"ready","token"/.test(l))
    expect(lines.length).toBeGreaterThan(0)
    for (const l of lines) expect(l).toContain('"upstreams"')
  })
})

/** CXONE_CLIENT_ID → clientId. */
function camel (name: string): string {
  return name.replace(/^CXONE_/, '').toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())
}

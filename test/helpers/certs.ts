import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Certs {
  dir: string
  caFile: string
  /** Signed by the CA, for 127.0.0.1 and localhost. */
  key: Buffer
  cert: Buffer
  /** Self-signed, trusted by nobody. */
  selfKey: Buffer
  selfCert: Buffer
}

/** Makes a throw-away CA and server certificates with openssl. */
export function makeCerts (): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'cxone-certs-'))
  const run = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }) }
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=cxone-auth-proxy test CA')
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext')
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1')
  const read = (f: string): Buffer => readFileSync(join(dir, f))
  return { dir, caFile: join(dir, 'ca.pem'), key: read('server.key'), cert: read('server.pem'), selfKey: read('self.key'), selfCert: read('self.pem') }
}

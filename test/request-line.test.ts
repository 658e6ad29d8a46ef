import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../src/core/log.js'
import { requestLineWriter, type RequestLine } from '../src/ops/request-line.js'
import { LogCapture } from './helpers/harness.js'

const FULL: RequestLine = { reqId: 'job-1', method: 'GET', path: '/inContactAPI/services/v31.0/skills/"odd"\\path', status: 200, ms: 1.5, upstreamMs: 0.7, token: 'sha256:ab12', profile: 'bu-two', upstream: 'api', quota: 'coalesced' }
const BARE: RequestLine = { reqId: 'r-2', method: 'POST', path: '/x', status: 502, ms: 3, upstreamMs: undefined, token: undefined, profile: undefined, upstream: undefined, quota: undefined }
const withoutTime = (line: string): string => line.replace(/,"time":\d+/, '')

describe('the request line', () => {
  it('is the line pino itself writes, byte for byte but the time, for the proxy\'s logger and a child', () => {
    for (const make of [(c: LogCapture) => createLogger('debug', c), (c: LogCapture) => createLogger('debug', c).child({ profile: 'bu-two' })]) {
      const fast = new LogCapture()
      const generic = new LogCapture()
      const write = requestLineWriter(make(fast))
      const logger = make(generic)
      for (const line of [FULL, BARE]) {
        write('info', line)
        write('debug', line)
        logger.info(line, 'request')
        logger.debug(line, 'request')
      }
      expect(fast.lines.map(withoutTime)).toEqual(generic.lines.map(withoutTime))
      expect(fast.lines).toHaveLength(4)
    }
  })

  it('honours the level, also when a reload changes it', () => {
    const logs = new LogCapture()
    const logger = createLogger('info', logs)
    const write = requestLineWriter(logger)
    write('debug', BARE)
    expect(logs.lines).toHaveLength(0)
    logger.level = 'debug'
    write('debug', BARE)
    logger.level = 'warn'
    write('info', BARE)
    expect(logs.entries).toMatchObject([{ level: 20, msg: 'request' }])
  })

  it('goes through pino when a field is redacted or serialised: the redaction stays', () => {
    const logs = new LogCapture()
    const write = requestLineWriter(pino({ redact: { paths: ['token'], censor: '[redacted]' } }, logs))
    write('info', FULL)
    const serialised = new LogCapture()
    requestLineWriter(pino({ serializers: { path: () => 'hidden' } }, serialised))('info', FULL)
    expect(logs.entries[0]).toMatchObject({ token: '[redacted]', msg: 'request' })
    expect(serialised.entries[0]).toMatchObject({ path: 'hidden' })
  })
})

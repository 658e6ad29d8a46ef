import { describe, expect, it } from 'vitest'
import { basicAuthorization, basicEncodingsDiffer, formEncode } from '../src/token/client-auth.js'

const decodeBasic = (header: string): string => Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8')

describe('client authentication encoding (RFC 6749 §2.3.1)', () => {
  it('form-encodes the Appendix B vector exactly', () => {
    expect(formEncode(' %&+£€')).toBe('+%25%26%2B%C2%A3%E2%82%AC')
  })

  it('rfc6749 mode form-encodes id and secret before base64', () => {
    const header = basicAuthorization('client id', 'a+b/c=d%e:f', 'rfc6749')
    expect(decodeBasic(header)).toBe('client+id:a%2Bb%2Fc%3Dd%25e%3Af')
  })

  it('raw mode sends base64(id:secret) unchanged', () => {
    const header = basicAuthorization('client id', 'a+b/c=d%e:f', 'raw')
    expect(decodeBasic(header)).toBe('client id:a+b/c=d%e:f')
  })

  it('encodes the UTF-8 bytes of the string', () => {
    expect(decodeBasic(basicAuthorization('id', 'pässwörd€', 'raw'))).toBe('id:pässwörd€')
    expect(decodeBasic(basicAuthorization('id', '€', 'rfc6749'))).toBe('id:%E2%82%AC')
  })

  it('both modes agree for CXone-shaped credentials (UUID id, alphanumeric secret)', () => {
    const id = '067ed166-8c0f-4e3a-9a1c-5b0c2d3e4f50'
    const secret = 'AbC123xyz789'
    expect(basicAuthorization(id, secret, 'rfc6749')).toBe(basicAuthorization(id, secret, 'raw'))
    expect(basicEncodingsDiffer(id, secret)).toBe(false)
    expect(basicEncodingsDiffer(id, 'abc=')).toBe(true)
  })
})

// undici's own body stream (what dispatcher.request() resolves with), required by src/proxy/upstream-call.ts.
declare module 'undici/lib/api/readable.js' {
  import { Readable as NodeReadable } from 'node:stream'
  export class Readable extends NodeReadable {
    constructor (opts: { resume: () => void, abort: () => void, contentType?: string, contentLength?: number, highWaterMark?: number })
  }
}

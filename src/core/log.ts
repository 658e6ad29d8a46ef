import pino, { type DestinationStream, type Logger } from 'pino'

/**
 * Every path that can carry a secret or a token is censored, whatever the log level
 * (pino docs/redaction.md). Paths are explicit: a leading wildcard makes pino walk every field of every
 * line (measured: a quarter of the per-request logging cost). The proxy logs tokens only as fingerprints.
 */
export const REDACT_PATHS = [
  'authorization', 'password', 'clientSecret', 'accessKeySecret', 'client_secret', 'access_token',
  'refresh_token', 'id_token', 'apiKeys', 'body',
  'headers.authorization', 'headers["proxy-authorization"]', 'headers["x-proxy-key"]', 'headers.cookie',
  'headers["set-cookie"]',
  'req.headers.authorization', 'req.headers["proxy-authorization"]', 'req.headers["x-proxy-key"]', 'req.headers.cookie',
  'err.headers.authorization', 'err.config.headers.authorization'
]

/** Fastify's own "Server listening at" text, replaced by this and dropped: the proxy logs one listening line, with its settings. */
export const FASTIFY_LISTEN_TEXT = 'fastify listening (superseded by the proxy\'s own line)'

export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { name: 'cxone-auth-proxy' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      // Fastify's listening line gives way to the proxy's own.
      logMethod (args, method) {
        if (args[0] === FASTIFY_LISTEN_TEXT) return
        method.apply(this, args)
      }
    },
    // pino's default epoch-milliseconds "time": formatting an ISO date on every line costs ~2% of the proxy's CPU.
    timestamp: pino.stdTimeFunctions.epochTime
  }, destination ?? pino.destination({ dest: 1, sync: false }))
}

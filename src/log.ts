import pino, { type DestinationStream, type Logger } from 'pino'

/**
 * Every path that can carry a secret or a token is censored, whatever the log level
 * (pino docs/redaction.md). The proxy logs tokens only as fingerprints.
 */
export const REDACT_PATHS = [
  'authorization', 'headers.authorization', 'req.headers.authorization', '*.authorization',
  'headers["proxy-authorization"]', 'req.headers["proxy-authorization"]',
  'headers["x-proxy-key"]', 'req.headers["x-proxy-key"]', '*["x-proxy-key"]',
  'headers.cookie', 'req.headers.cookie', 'headers["set-cookie"]',
  'clientSecret', '*.clientSecret', 'accessKeySecret', '*.accessKeySecret', 'password', '*.password',
  'client_secret', '*.client_secret', 'access_token', '*.access_token', 'refresh_token', '*.refresh_token',
  'id_token', '*.id_token', 'apiKeys', '*.apiKeys', 'body', '*.body'
]

export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { name: 'cxone-auth-proxy' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime
  }, destination ?? pino.destination({ dest: 1, sync: false }))
}

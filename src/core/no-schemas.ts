import type { FastifyServerOptions } from 'fastify'

function noSchema (): never {
  throw new Error('a route declares a JSON schema, but the proxy builds Fastify without schema compilers (src/core/no-schemas.ts): check the route, or give the listener ajv and fast-json-stringify back')
}

/**
 * Fastify requires ajv and fast-json-stringify for its default schema compilers (~80 ms of a start, issue 26),
 * and no route of the proxy declares a schema: these builders are only called for one that does.
 */
export const NO_SCHEMA_COMPILERS: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: { buildValidator: noSchema, buildSerializer: noSchema }
}

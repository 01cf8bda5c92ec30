import * as z from 'zod/mini';
import { checked } from '../query.js';
import type { JsonSchema, OpenApiMeta } from '../route-definition.js';
import { CURSOR, ENTITY_ID, EXECUTION_ID, JOB_ID } from './examples.js';

/**
 * Documents a parameter as `schema` whatever zod would render: a query string carries text, which the
 * route reads as the integer (or pattern) the document promises.
 */
export function documentedAs(schema: JsonSchema): NonNullable<OpenApiMeta['override']> {
  return ({ jsonSchema }) => {
    for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
    Object.assign(jsonSchema, schema);
  };
}

// Ids in paths are checked by the services, which answer an id that cannot exist as they answer an
// unknown one (404): here they are only named and documented.

export const JobIdParam = z.string().register(z.globalRegistry, {
  param: { id: 'JobId', description: 'The job id (`job_<uuid>`).', example: JOB_ID },
});

export const ExecutionIdParam = z.string().register(z.globalRegistry, {
  param: { id: 'ExecutionId', description: 'The execution id.', example: EXECUTION_ID },
});

export const EntityIdParam = z.string().register(z.globalRegistry, {
  param: { id: 'EntityId', description: 'The entity id.', example: ENTITY_ID },
});

const LIMIT_MESSAGE = 'must be a whole number from 1 to 100';

/** Page size of every list, 1 to 100, 50 when absent. */
export const LimitParam = z
  ._default(
    z
      .pipe(z.string().check(z.regex(/^\d+$/, LIMIT_MESSAGE)), z.transform(Number))
      .check(z.refine((limit) => limit >= 1 && limit <= 100, LIMIT_MESSAGE)),
    50,
  )
  .register(z.globalRegistry, {
    param: { id: 'Limit', description: 'Page size.', example: 20 },
    override: documentedAs({ type: 'integer', minimum: 1, maximum: 100, default: 50 }),
  });

/** Where a list goes on: the `next_cursor` of the page before, which only the store can read. */
export const CursorParam = z.optional(z.string()).register(z.globalRegistry, {
  param: {
    id: 'Cursor',
    description: '`next_cursor` of the previous page. A page may be short, or empty, and still have one.',
    example: CURSOR,
  },
});

/** The `Idempotency-Key` header of a request that starts a run, described for that route. */
export function idempotencyKeyHeader(description: string, example: string) {
  return z
    .optional(checked((key) => /^[\x21-\x7e]{1,255}$/.test(key), 'must be 1-255 visible ASCII characters'))
    .register(z.globalRegistry, {
      param: { description, example },
      override: { pattern: '^[\\x21-\\x7e]{1,255}$' },
    });
}

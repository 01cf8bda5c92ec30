import * as z from 'zod/mini';
import './zod-locale.js';

/**
 * `schema` with its OpenAPI metadata (description, component `id`, `param` details), attached as classic
 * zod's `.meta()` attaches it: to a copy, registered in zod's global registry, where zod-openapi reads it.
 * A copy rather than a `z.meta()` check, because an object schema with a check can no longer be extended
 * or made partial.
 *
 * @example
 * const JobIdSchema = withMeta(z.string(), { description: 'The job id: `job_` and a UUID.' });
 */
export function withMeta<T extends z.ZodMiniType>(schema: T, metadata: z.core.GlobalMeta): T {
  const copy = schema.clone();
  z.globalRegistry.add(copy, metadata);
  return copy;
}

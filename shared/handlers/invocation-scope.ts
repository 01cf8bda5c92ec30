import type { Context } from 'aws-lambda';
import type { Logger } from '../ports.js';

/**
 * `handler` with the invocation's request id (`context.awsRequestId`) as `request_id` on every line it
 * logs, its middlewares' lines included. A scope rather than Powertools' `injectLambdaContext`, which
 * keeps the context on the logger: the local runtime runs invocations of every function concurrently
 * over one logger, and each must keep its own id.
 */
export function scopedToInvocation<E, R>(
  logger: Logger,
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  return (event, context) =>
    logger.withKeys({ request_id: context?.awsRequestId }, () => handler(event, context));
}

import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { SERVICE_NAME } from '../shared/adapters/logger.js';

/**
 * X-Ray tracing through Powertools for AWS Lambda's `Tracer`, a per-deployment option, off by default.
 *
 * Whether a function traces is decided when it is bundled: {@link tracingDefine} makes
 * `process.env.POWERTOOLS_TRACE_ENABLED` a constant in the bundle, so with tracing off esbuild drops the
 * branch that imports the Tracer, and the X-Ray SDK it pulls in, from the bundle. Unbundled (tests,
 * `tsx`), the variable is read when the handler is first built.
 */
const TRACE_ENABLED = 'process.env.POWERTOOLS_TRACE_ENABLED';

/**
 * The esbuild `define` of a function bundle for a deployment that does (`true`) or does not trace. The
 * stack passes it as the function's `bundling.define`, and sets the environment variable
 * `POWERTOOLS_TRACE_ENABLED` to the same value, which the Tracer itself reads.
 *
 * @example
 * new NodejsFunction(scope, 'Api', { entry, bundling: { define: tracingDefine(config.tracing ?? false) } });
 */
export function tracingDefine(tracing: boolean): Record<string, string> {
  return { [TRACE_ENABLED]: JSON.stringify(String(tracing)) };
}

/** What a composition root needs from tracing: its AWS SDK clients' calls recorded as subsegments. */
export interface ClientTracing {
  captureClient<T>(client: T): T;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * A Lambda entry point's handler, built by `build` on the first invocation and kept for the life of the
 * container, so importing the module needs no environment and the clients are created once. With
 * tracing on, `build` is given the Tracer's client capture and the handler runs inside Powertools'
 * `captureLambdaHandler` middleware. A build that throws is tried again by the next invocation.
 */
export function lazyHandler<E, R>(
  build: (tracing: ClientTracing | undefined) => Handler<E, R>,
): Handler<E, R> {
  let built: Promise<Handler<E, R>> | undefined;
  return async (event, context) => {
    built ??= buildHandler(build).catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return (await built)(event, context);
  };
}

async function buildHandler<E, R>(
  build: (tracing: ClientTracing | undefined) => Handler<E, R>,
): Promise<Handler<E, R>> {
  // The whole traced path inside the condition: esbuild drops a dead branch, not code after an early return.
  if (process.env.POWERTOOLS_TRACE_ENABLED === 'true') {
    const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
      import('@aws-lambda-powertools/tracer'),
      import('@aws-lambda-powertools/tracer/middleware'),
    ]);
    const tracer = new Tracer({ serviceName: SERVICE_NAME });
    const handler = build({ captureClient: (client) => tracer.captureAWSv3Client(client) });
    // Responses stay out of the trace: the API answers a webhook job's creation or rotation with its secret.
    return middy<E, R>(handler).use(captureLambdaHandler(tracer, { captureResponse: false }));
  }
  return build(undefined);
}

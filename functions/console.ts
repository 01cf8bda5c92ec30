import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { makeConsoleHandler } from '../shared/handlers/console-handler.js';

// The built console (dist/console) is copied into the function's asset as `console/`, beside the bundle.
// Built on the first invocation, like the other functions, so importing this module reads nothing.
let handleConsole: ReturnType<typeof makeConsoleHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context) => {
  handleConsole ??= makeConsoleHandler({
    assetsDir: join(dirname(fileURLToPath(import.meta.url)), 'console'),
  });
  return handleConsole(event, context);
};

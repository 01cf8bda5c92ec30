import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { makeApiHandler } from '../shared/http/api-handler.js';
import { awsApiDeps } from './aws-deps.js';

// Built on the first invocation and kept for the life of the container, so importing this module
// needs no environment and the clients are created once.
let api: ReturnType<typeof makeApiHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context) => {
  api ??= makeApiHandler(awsApiDeps());
  return api(event, context);
};

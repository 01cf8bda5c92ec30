import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { makeWebhookHandler } from '../shared/handlers/webhook-handler.js';
import { awsWebhookDeps } from './aws-deps.js';

// Built on the first invocation and kept for the life of the container, so importing this module
// needs no environment and the clients are created once.
let webhook: ReturnType<typeof makeWebhookHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2, context: Context) => {
  webhook ??= makeWebhookHandler(awsWebhookDeps());
  return webhook(event, context);
};

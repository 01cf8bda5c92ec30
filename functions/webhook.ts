import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { makeWebhookHandler } from '../shared/handlers/webhook-handler.js';
import type { HttpResponse } from '../shared/http/responses.js';
import { awsWebhookDeps } from './aws-deps.js';
import { lazyHandler } from './tracing.js';

export const handler = lazyHandler<APIGatewayProxyEventV2, HttpResponse>((tracing) =>
  makeWebhookHandler(awsWebhookDeps(tracing)),
);

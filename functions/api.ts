import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { makeApiHandler } from '../shared/http/api-handler.js';
import type { HttpResponse } from '../shared/http/responses.js';
import { awsApiDeps } from './aws-deps.js';
import { lazyHandler } from './tracing.js';

export const handler = lazyHandler<APIGatewayProxyEventV2, HttpResponse>((tracing) =>
  makeApiHandler(awsApiDeps(tracing)),
);

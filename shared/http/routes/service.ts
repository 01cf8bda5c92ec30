import * as z from 'zod/mini';
import { defineRoute } from '../route-definition.js';
import { example } from './examples.js';

export const HealthSchema = z.object({ status: z.literal('ok') }).register(z.globalRegistry, {
  id: 'Health',
  description: 'The service is up.',
});

export const getHealth = defineRoute({
  operationId: 'getHealth',
  method: 'GET',
  path: '/health',
  auth: 'none',
  sdkMethod: 'health',
  tags: ['Service'],
  summary: 'Liveness',
  description: 'Answers 200 while the API function runs. No authentication.',
  response: {
    status: 200,
    description: 'The service is up.',
    schema: HealthSchema,
    examples: { ok: example('Up', { status: 'ok' }) },
  },
  errors: { 500: true },
});

export const getOpenApiDocument = defineRoute({
  operationId: 'getOpenApiDocument',
  method: 'GET',
  path: '/openapi.json',
  // Documentation, holding nothing of the deployment: served without an API key.
  auth: 'none',
  tags: ['Service'],
  summary: 'This document',
  description:
    'The OpenAPI 3.1 document of the API. Served without authentication: it is documentation and holds nothing of the deployment (the server URL is relative to where it was fetched from).',
  response: {
    status: 200,
    description: 'The OpenAPI document.',
    schema: {
      type: 'object',
      required: ['openapi', 'info', 'paths'],
      properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
    },
    examples: {
      document: example('The start of it', {
        openapi: '3.1.0',
        info: { title: 'Serverless Jobs API' },
        paths: {},
      }),
    },
  },
  errors: { 500: true },
});

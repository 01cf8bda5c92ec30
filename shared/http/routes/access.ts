import * as z from 'zod/mini';
import { ApiKeyCreateSchema, ApiKeyListResponseSchema, ApiKeyWithSecretSchema } from '../../domain/access.js';
import { JobHistoryResponseSchema } from '../../domain/audit.js';
import { queryParameters } from '../query.js';
import { defineRoute } from '../route-definition.js';
import { example, JOB_ID } from './examples.js';
import { CursorParam, JobIdParam, LimitParam } from './parameters.js';

/*
 * Access: the deployment's scoped API keys, and the audit trail of a job.
 */

const KEY_NAME = 'deploy-pipeline';
const KEY = {
  name: KEY_NAME,
  scope: 'trigger',
  created_at: '2025-01-15T09:00:00.000Z',
  last_used_at: null,
};

const ApiKeyNameParam = z.string().register(z.globalRegistry, {
  param: { description: 'The key’s name.', example: KEY_NAME },
});

export const listApiKeys = defineRoute({
  operationId: 'listApiKeys',
  method: 'GET',
  path: '/api-keys',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'apiKeys.list',
  tags: ['Access'],
  summary: 'List API keys',
  description:
    'Every API key created through this API, oldest first: name, scope, creation and last use (to the minute), never the key. The deployment’s own key is not listed.',
  response: {
    status: 200,
    description: 'The keys.',
    schema: ApiKeyListResponseSchema,
    examples: {
      keys: example('One key', { api_keys: [{ ...KEY, last_used_at: '2025-01-15T10:02:00.000Z' }] }),
    },
  },
  errors: { 401: true, 403: true, 500: true },
});

export const createApiKey = defineRoute({
  operationId: 'createApiKey',
  method: 'POST',
  path: '/api-keys',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'apiKeys.create',
  tags: ['Access'],
  summary: 'Create an API key',
  description:
    'Creates a key with a name and a scope: `read` (GET routes), `trigger` (reads, plus trigger and cancel) or `admin` (everything). The key is in this answer only; the service keeps its SHA-256 hash.',
  body: {
    schema: ApiKeyCreateSchema,
    required: true,
    description: 'The key’s name and scope.',
    examples: { trigger: example('A key for a deploy pipeline', { name: KEY_NAME, scope: 'trigger' }) },
  },
  response: {
    status: 201,
    description: 'The key as created, with the key itself.',
    schema: ApiKeyWithSecretSchema,
    examples: {
      created: example('Created', { ...KEY, key: 'sjk_3q2-Jx9vQm8L0aTnW5pR7sYc1dFhK4gB6eZuN0oViXw' }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    409: 'A key of this name exists, or the deployment holds as many keys as it may (100).',
    413: true,
    415: true,
    422: true,
    500: true,
  },
});

export const deleteApiKey = defineRoute({
  operationId: 'deleteApiKey',
  method: 'DELETE',
  path: '/api-keys/{name}',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'apiKeys.delete',
  tags: ['Access'],
  summary: 'Revoke an API key',
  description:
    'Revokes the key: refused by the function instance that served this request at once, and by every other within a minute.',
  params: z.object({ name: ApiKeyNameParam }),
  response: { status: 204, description: 'Revoked.' },
  errors: { 401: true, 403: true, 404: 'No key of this name.', 500: true },
});

export const getJobHistory = defineRoute({
  operationId: 'getJobHistory',
  method: 'GET',
  path: '/jobs/{id}/history',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'jobs.history',
  tags: ['Jobs'],
  summary: 'A job’s changes',
  description:
    'The audit trail of the job, newest first: each change (created, updated, enabled, disabled, webhook secret rotated, deleted) with who made it (an API key by name, an IAM principal by ARN), when, and the names of the fields it changed, never their values. Kept as long as executions; still readable after the job is deleted.',
  params: z.object({ id: JobIdParam }),
  query: queryParameters({ limit: LimitParam, cursor: CursorParam }, { once: ['limit', 'cursor'] }),
  response: {
    status: 200,
    description: 'A page of changes.',
    schema: JobHistoryResponseSchema,
    examples: {
      page: example('Created, then disabled', {
        history: [
          {
            at: '2025-01-15T10:00:00.000Z',
            action: 'disabled',
            resource: { type: 'job', id: JOB_ID },
            actor: { type: 'iam', arn: 'arn:aws:iam::123456789012:role/ops' },
            changed_fields: ['enabled'],
          },
          {
            at: '2025-01-15T09:00:00.000Z',
            action: 'created',
            resource: { type: 'job', id: JOB_ID },
            actor: { type: 'api_key', name: KEY_NAME },
            changed_fields: ['cron_schedule', 'name', 'trigger_type'],
          },
        ],
        next_cursor: null,
      }),
    },
  },
  errors: {
    400: '`cursor` was not issued by this service.',
    401: true,
    404: 'No job with this id, and no recorded change of one.',
    422: 'An unknown, repeated or invalid query parameter.',
    500: true,
  },
});

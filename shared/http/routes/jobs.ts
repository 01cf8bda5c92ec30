import * as z from 'zod/mini';
import { TriggerRequestSchema, TriggerResponseSchema } from '../../domain/execution.js';
import {
  JobCreateSchema,
  JobListResponseSchema,
  JobPatchSchema,
  JobSchema,
  TriggerTypeSchema,
} from '../../domain/job.js';
import { queryParameters } from '../query.js';
import { defineRoute } from '../route-definition.js';
import {
  CRON_JOB,
  DEPLOY_ON_PUSH,
  EMERGENCY_ROLLBACK,
  example,
  JOB_ID,
  MANUAL_JOB,
  NIGHTLY_BACKUP,
  TRIGGERED,
  WEBHOOK_JOB,
  WEBHOOK_SECRET,
} from './examples.js';
import { CursorParam, idempotencyKeyHeader, JobIdParam, LimitParam } from './parameters.js';

const jobId = z.object({ id: JobIdParam });

/** Where a created resource is, in the `Location` header. */
export const locationHeader = (path: string) =>
  z.object({
    Location: z.optional(z.string()).register(z.globalRegistry, {
      header: { description: 'The path of the new resource.', example: path },
    }),
  });

const NO_JOB = 'No job with this id.';
const BUSY = 'Other requests kept changing the job; try again.';

export const listJobs = defineRoute({
  operationId: 'listJobs',
  method: 'GET',
  path: '/jobs',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'jobs.listPage',
  tags: ['Jobs'],
  summary: 'List jobs',
  description:
    'One page of jobs, newest first. Pass `next_cursor` back as `cursor` for the next page; it is null on the last.',
  // GET /jobs has always read its query as a strict schema does: unknown names last, zod's codes.
  query: queryParameters(
    {
      enabled: z
        .optional(
          z.pipe(
            z.enum(['true', 'false', 'True', 'False'], { message: 'must be "true" or "false"' }),
            z.transform((text) => text.toLowerCase() === 'true'),
          ),
        )
        .register(z.globalRegistry, {
          param: {
            description:
              'Only enabled (`true`) or disabled (`false`) jobs; `True` and `False` are accepted too.',
            example: 'true',
          },
        }),
      trigger_type: z.optional(TriggerTypeSchema).register(z.globalRegistry, {
        param: { description: 'Only jobs with this trigger.', example: 'cron' },
      }),
      limit: LimitParam,
      cursor: CursorParam,
    },
    { strict: true, once: ['enabled', 'trigger_type', 'limit', 'cursor'] },
  ),
  response: {
    status: 200,
    description: 'A page of jobs.',
    schema: JobListResponseSchema,
    examples: {
      page: example('The last page', { jobs: [CRON_JOB, WEBHOOK_JOB, MANUAL_JOB], next_cursor: null }),
    },
  },
  errors: {
    400: '`cursor` was not issued by this service.',
    401: true,
    422: 'An unknown, repeated or invalid query parameter.',
    500: true,
  },
});

export const createJob = defineRoute({
  operationId: 'createJob',
  method: 'POST',
  path: '/jobs',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'jobs.create',
  tags: ['Jobs'],
  summary: 'Create a job',
  description:
    'Creates a job. A cron job is scheduled at once (see `next_run_at`); a webhook job gets its `webhook_url` and `webhook_secret`, the secret shown in this answer only.',
  body: {
    schema: JobCreateSchema,
    required: true,
    description: 'The job.',
    examples: {
      cron: example('A cron job', NIGHTLY_BACKUP),
      webhook: example('A webhook job', DEPLOY_ON_PUSH),
      manual: example('A manual job on the default entity', EMERGENCY_ROLLBACK),
    },
  },
  response: {
    status: 201,
    description: 'The job as created.',
    schema: JobSchema,
    headers: locationHeader(`/jobs/${JOB_ID}`),
    examples: {
      cron: example('A cron job', CRON_JOB),
      webhook: example('A webhook job, with its secret', { ...WEBHOOK_JOB, webhook_secret: WEBHOOK_SECRET }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    409: 'A concurrent change got in the way; try again.',
    413: true,
    415: true,
    422: 'An invalid field or combination of fields, an entity or notification channel (`config.alerts.channels[i]`) that does not exist, or no default entity for a job that names none.',
    500: true,
  },
});

export const getJob = defineRoute({
  operationId: 'getJob',
  method: 'GET',
  path: '/jobs/{id}',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'jobs.get',
  tags: ['Jobs'],
  summary: 'Get a job',
  description:
    'One job. A webhook job also shows when its secret was rotated and which secret verified the latest delivery.',
  params: jobId,
  response: {
    status: 200,
    description: 'The job.',
    schema: JobSchema,
    examples: {
      cron: example('A cron job', CRON_JOB),
      webhook: example('A webhook job', {
        ...WEBHOOK_JOB,
        webhook_secret_rotated_at: null,
        webhook_last_secret_used: 'current',
      }),
    },
  },
  errors: { 401: true, 404: NO_JOB, 500: true },
});

export const updateJob = defineRoute({
  operationId: 'updateJob',
  method: 'PATCH',
  path: '/jobs/{id}',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'jobs.update',
  tags: ['Jobs'],
  summary: 'Update a job',
  description:
    'Changes the given fields; `null` clears an optional one. Changing `trigger_type` or `executor_type` clears the field it governed unless the same request sets it. A switch to `webhook` creates the webhook secret, shown in this answer only.',
  params: jobId,
  body: {
    schema: JobPatchSchema,
    required: true,
    // An unknown job is a 404 whatever the patch holds.
    read: 'after-lookup',
    description: 'The fields to change.',
    examples: {
      reschedule: example('Move the schedule and pause', { cron_schedule: '30 3 * * *', enabled: false }),
    },
  },
  response: {
    status: 200,
    description: 'The job as updated.',
    schema: JobSchema,
    examples: {
      updated: example('Rescheduled and paused', {
        ...CRON_JOB,
        cron_schedule: '30 3 * * *',
        enabled: false,
        updated_at: '2025-01-15T10:00:00.000Z',
        next_run_at: null,
        schedule_expression: ['cron(30 3 * * ? *)'],
      }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    404: NO_JOB,
    409: BUSY,
    413: true,
    415: true,
    422: 'The job as changed would be invalid, or it adds a notification channel (`config.alerts.channels[i]`) that does not exist.',
    500: true,
  },
});

export const deleteJob = defineRoute({
  operationId: 'deleteJob',
  method: 'DELETE',
  path: '/jobs/{id}',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'jobs.delete',
  tags: ['Jobs'],
  summary: 'Delete a job',
  description: 'Deletes the job and its schedule. Its executions stay readable until they expire.',
  params: jobId,
  response: { status: 204, description: 'Deleted.' },
  errors: { 401: true, 403: true, 404: NO_JOB, 409: BUSY, 500: true },
});

export const enableJob = defineRoute({
  operationId: 'enableJob',
  method: 'POST',
  path: '/jobs/{id}/enable',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'jobs.enable',
  tags: ['Jobs'],
  summary: 'Enable a job',
  description:
    'Enables the job (a cron job is scheduled again). Enabling an enabled job changes nothing. No body.',
  params: jobId,
  response: {
    status: 200,
    description: 'The job.',
    schema: JobSchema,
    examples: { enabled: example('Enabled', CRON_JOB) },
  },
  errors: {
    401: true,
    403: true,
    404: NO_JOB,
    409: BUSY,
    413: true,
    422: 'The entity the job names no longer exists.',
    500: true,
  },
});

export const disableJob = defineRoute({
  operationId: 'disableJob',
  method: 'POST',
  path: '/jobs/{id}/disable',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'jobs.disable',
  tags: ['Jobs'],
  summary: 'Disable a job',
  description:
    'Disables the job: it stops firing, and triggers and deliveries are refused. Runs already started go on. No body.',
  params: jobId,
  response: {
    status: 200,
    description: 'The job.',
    schema: JobSchema,
    examples: { disabled: example('Disabled', { ...CRON_JOB, enabled: false, next_run_at: null }) },
  },
  errors: {
    401: true,
    403: true,
    404: NO_JOB,
    409: BUSY,
    413: true,
    422: 'The entity the job names no longer exists.',
    500: true,
  },
});

export const triggerJob = defineRoute({
  operationId: 'triggerJob',
  method: 'POST',
  path: '/jobs/{id}/trigger',
  auth: 'api-key',
  scope: 'trigger',
  sdkMethod: 'jobs.trigger',
  tags: ['Jobs'],
  summary: 'Run a job now',
  description:
    'Starts a run: the prompt template is rendered with `parameters` and the run is queued. With an `Idempotency-Key`, repeating the request returns the first run instead of starting another.',
  params: jobId,
  headers: z.object({
    'Idempotency-Key': idempotencyKeyHeader(
      'Makes the trigger idempotent: a repeat with the same key answers with the first run.',
      'rollback-checkout-2025-01-15',
    ),
  }),
  body: {
    schema: TriggerRequestSchema,
    // The reference's `trigger(job_id)` sends no body: a trigger without parameters.
    required: false,
    description: 'Optional; an empty body is a trigger without parameters.',
    examples: {
      rollback: example('Parameters and a longer timeout', {
        parameters: { service_name: 'checkout', version: '1.4.2' },
        config_override: { timeout: 1800 },
      }),
    },
  },
  response: {
    status: 202,
    description: 'The run, queued (or `skipped` by `overlap_policy: skip`).',
    schema: TriggerResponseSchema,
    examples: { queued: example('Queued', TRIGGERED) },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    404: NO_JOB,
    409: 'The job is disabled, or its entity or environment is no longer there.',
    413: true,
    415: true,
    422: 'An invalid body or `Idempotency-Key`, a parameter the template needs is missing, or the run would be too large.',
    500: true,
  },
});

import * as z from 'zod/mini';
import { UnauthorizedError } from '../../domain/errors.js';
import {
  CallbackRequestSchema,
  EXECUTION_STATUSES,
  ExecutionListResponseSchema,
  ExecutionSchema,
  type ExecutionStatus,
  MAX_HISTORY_OFFSET,
  RecentExecutionListResponseSchema,
  TriggerResponseSchema,
} from '../../domain/execution.js';
import { checked, queryParameters, wholeNumber } from '../query.js';
import { defineRoute } from '../route-definition.js';
import { EXECUTION, EXECUTION_ID, example, JOB_ID, TRIGGERED } from './examples.js';
import {
  CursorParam,
  documentedAs,
  ExecutionIdParam,
  idempotencyKeyHeader,
  JobIdParam,
  LimitParam,
} from './parameters.js';

const NO_RUN = 'No such job, or no such execution of it.';

const isStatus = (value: string): value is ExecutionStatus =>
  (EXECUTION_STATUSES as readonly string[]).includes(value);

/**
 * `status=failed,timed_out`: statuses separated by commas, which is also how API Gateway hands over the
 * parameter given twice (`status=failed&status=timed_out`).
 */
const StatusListParam = z
  .optional(
    z.pipe(
      checked(
        (value) => value.split(',').every(isStatus),
        `must be one or more of ${EXECUTION_STATUSES.join(', ')}, separated by commas`,
      ),
      z.transform((value) => [...new Set(value.split(',').filter(isStatus))]),
    ),
  )
  .register(z.globalRegistry, {
    param: {
      description:
        'Only runs in these statuses, separated by commas. `failed,timed_out` (failed and timed-out runs only) is read from an index of failures alone.',
      example: 'failed,timed_out',
    },
    override: documentedAs({
      type: 'string',
      pattern: `^(${EXECUTION_STATUSES.join('|')})(,(${EXECUTION_STATUSES.join('|')}))*$`,
    }),
  });

export const listRecentExecutions = defineRoute({
  operationId: 'listRecentExecutions',
  method: 'GET',
  path: '/executions',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'executions.listRecent',
  tags: ['Executions'],
  summary: 'List recent executions across jobs',
  description:
    'Runs of every job, newest first, optionally only in some statuses or of one job. Page with `cursor`; a page may be short, or empty, and still have a `next_cursor` (each request reads a bounded amount), so only a null `next_cursor` ends the list.',
  query: queryParameters(
    {
      status: StatusListParam,
      job_id: z.optional(z.string()).register(z.globalRegistry, {
        param: {
          description: 'Only runs of this job (also once the job is deleted, until retention removes them).',
          example: JOB_ID,
        },
      }),
      limit: LimitParam,
      cursor: CursorParam,
    },
    { once: ['job_id', 'limit', 'cursor'] },
  ),
  response: {
    status: 200,
    description: 'A page of executions, newest first.',
    schema: RecentExecutionListResponseSchema,
    examples: {
      failures: example('Failed and timed-out runs', {
        executions: [
          {
            ...EXECUTION,
            status: 'failed',
            error_message: 'Target answered 500: database unreachable',
            output: null,
          },
        ],
        next_cursor: null,
      }),
    },
  },
  errors: {
    400: '`cursor` was not issued by this service.',
    401: true,
    422: 'An unknown status, a `job_id` that is not a job id, a `limit` out of range, or an unknown or repeated parameter.',
    500: true,
  },
});

export const getExecutions = defineRoute({
  operationId: 'getExecutions',
  method: 'GET',
  path: '/jobs/{id}/executions',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'jobs.getExecutions',
  tags: ['Executions'],
  summary: 'List executions of a job',
  description: `The job's runs, newest first, with their total count. Page with \`offset\` (up to ${MAX_HISTORY_OFFSET}) or, deeper, with \`cursor\`; an offset is skipped reading keys only.`,
  params: z.object({ id: JobIdParam }),
  query: queryParameters({
    limit: LimitParam,
    offset: z
      ._default(
        wholeNumber(
          0,
          MAX_HISTORY_OFFSET,
          `must be a whole number from 0 to ${MAX_HISTORY_OFFSET}; to page deeper, pass the next_cursor of the previous page as cursor`,
        ),
        0,
      )
      .register(z.globalRegistry, {
        param: {
          description: `Runs to skip, at most ${MAX_HISTORY_OFFSET}; past that a 422 says to page with \`cursor\`.`,
          example: 0,
        },
        override: documentedAs({ type: 'integer', minimum: 0, maximum: MAX_HISTORY_OFFSET, default: 0 }),
      }),
    cursor: CursorParam,
  }),
  response: {
    status: 200,
    description: 'A page of executions.',
    schema: ExecutionListResponseSchema,
    examples: { page: example('One run', { total_count: 1, executions: [EXECUTION], next_cursor: null }) },
  },
  errors: {
    400: '`cursor` was not issued by this service.',
    401: true,
    404: 'No job with this id.',
    422: 'An unknown, repeated or invalid query parameter.',
    500: true,
  },
});

export const getExecution = defineRoute({
  operationId: 'getExecution',
  method: 'GET',
  path: '/jobs/{id}/executions/{eid}',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'jobs.getExecution',
  tags: ['Executions'],
  summary: 'Get an execution',
  description: 'One run of the job.',
  params: z.object({ id: JobIdParam, eid: ExecutionIdParam }),
  response: {
    status: 200,
    description: 'The execution.',
    schema: ExecutionSchema,
    examples: { succeeded: example('A finished cron run', EXECUTION) },
  },
  errors: { 401: true, 404: NO_RUN, 500: true },
});

export const cancelExecution = defineRoute({
  operationId: 'cancelExecution',
  method: 'POST',
  path: '/jobs/{id}/executions/{eid}/cancel',
  auth: 'api-key',
  scope: 'trigger',
  sdkMethod: 'jobs.cancelExecution',
  tags: ['Executions'],
  summary: 'Cancel an execution',
  description: 'A queued or running run ends as `cancelled`; a result arriving later is refused. No body.',
  params: z.object({ id: JobIdParam, eid: ExecutionIdParam }),
  response: {
    status: 200,
    description: 'The execution, cancelled.',
    schema: ExecutionSchema,
    examples: {
      cancelled: example('Cancelled while running', {
        ...EXECUTION,
        status: 'cancelled',
        finished_at: '2025-01-15T07:01:00.840Z',
        duration_ms: 60000,
        output: null,
      }),
    },
  },
  errors: { 401: true, 403: true, 404: NO_RUN, 409: 'The run has already ended.', 413: true, 500: true },
});

export const replayExecution = defineRoute({
  operationId: 'replayExecution',
  method: 'POST',
  path: '/jobs/{id}/executions/{eid}/replay',
  auth: 'api-key',
  scope: 'trigger',
  sdkMethod: 'jobs.replayExecution',
  tags: ['Executions'],
  summary: 'Replay an execution',
  description:
    "Starts a new run of the job as it is now, with the parameters and `config_override` of the run it replays, and answers like a trigger. The new run's `replay_of` names the replayed one. With an `Idempotency-Key`, repeating the request returns the first replay instead of starting another. No body.",
  params: z.object({ id: JobIdParam, eid: ExecutionIdParam }),
  headers: z.object({
    'Idempotency-Key': idempotencyKeyHeader(
      'Makes the replay idempotent: a repeat with the same key for the same run answers with the first replay.',
      'replay-after-fix-42',
    ),
  }),
  response: {
    status: 202,
    description: 'The new run, queued (or `skipped` by `overlap_policy: skip`).',
    schema: TriggerResponseSchema,
    examples: { queued: example('Queued', TRIGGERED) },
  },
  errors: {
    401: true,
    403: true,
    404: NO_RUN,
    409: 'The job is disabled, or its entity or environment is no longer there.',
    413: true,
    422: "An invalid `Idempotency-Key`, a parameter the job's template now needs is missing, or the run would be too large.",
    500: true,
  },
});

export const reportExecutionResult = defineRoute({
  operationId: 'reportExecutionResult',
  method: 'POST',
  path: '/executions/{id}/callback',
  auth: 'callback-token',
  sdkMethod: 'executions.callback',
  tags: ['Executions'],
  summary: 'Report the result of a run (targets)',
  description:
    "For a target that accepted a run with 202: finishes the run. Authenticated by the attempt's callback token (`callback.token` of the execution request), not an API key; the body is read only once the token holds.",
  params: z.object({
    id: z.string().register(z.globalRegistry, {
      param: {
        description: 'The execution id (`execution_id` of the execution request).',
        example: EXECUTION_ID,
      },
    }),
  }),
  body: {
    schema: CallbackRequestSchema,
    required: true,
    read: 'after-auth',
    description: 'The result.',
    examples: {
      succeeded: example('Success with output', { status: 'succeeded', output: { summary: 'Backup done' } }),
      failed: example('Failure', { status: 'failed', error_message: 'Database unreachable' }),
    },
  },
  response: {
    status: 200,
    description: 'The execution, finished.',
    schema: ExecutionSchema,
    examples: { finished: example('Finished', EXECUTION) },
  },
  errors: {
    400: true,
    401: {
      description:
        'The token is missing or does not belong to this execution (an unknown execution answers the same).',
      example: {
        summary: 'Wrong token',
        error: () =>
          new UnauthorizedError('The callback token is missing or does not belong to this execution.'),
      },
    },
    409: 'The run is no longer running (it ended, was cancelled, or timed out).',
    413: true,
    415: true,
    422: 'An invalid result.',
    500: true,
  },
});

import * as z from 'zod/mini';
import { cronScheduleProblem, isIanaTimezone } from '../../domain/job.js';
import { MAX_PREVIEW_FIRES, SchedulePreviewSchema } from '../../domain/schedule-preview.js';
import { checked, queryParameters, wholeNumber } from '../query.js';
import { defineRoute } from '../route-definition.js';
import { example } from './examples.js';
import { documentedAs } from './parameters.js';

/** A cron expression a job could have as its schedule, with the job rules' words when it could not. */
const CronExpressionParam = z
  .string()
  .check((ctx) => {
    const problem =
      ctx.value.trim() === '' ? { message: 'is required', code: 'required' } : cronScheduleProblem(ctx.value);
    if (problem) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: problem.message,
        params: { code: problem.code },
      });
    }
  })
  .register(z.globalRegistry, {
    param: { description: 'A 5-field cron expression.', example: '30 1 * * *' },
  });

export const previewSchedule = defineRoute({
  operationId: 'previewSchedule',
  method: 'GET',
  path: '/cron/preview',
  auth: 'api-key',
  scope: 'read',
  sdkMethod: 'jobs.previewSchedule',
  tags: ['Schedules'],
  summary: 'Preview a cron schedule',
  description:
    'The next fire times of a cron expression in a timezone, as a cron job with that schedule would fire on EventBridge Scheduler: a local time skipped by a daylight-saving change does not fire; a repeated one fires once.',
  // A repeated `expression` cannot be told apart: API Gateway joins repeats with ",", which an expression
  // may contain (`0 9 * * 1,3,5`). The joined value is then read as one expression, usually a 422.
  query: queryParameters(
    {
      expression: CronExpressionParam,
      timezone: z
        ._default(
          checked(isIanaTimezone, 'is not a known IANA timezone (for example "UTC" or "America/New_York")'),
          'UTC',
        )
        .register(z.globalRegistry, {
          param: { description: 'An IANA timezone.', example: 'Europe/London' },
          override: documentedAs({ type: 'string', default: 'UTC' }),
        }),
      count: z
        ._default(
          wholeNumber(1, MAX_PREVIEW_FIRES, `must be a whole number from 1 to ${MAX_PREVIEW_FIRES}`),
          10,
        )
        .register(z.globalRegistry, {
          param: { description: 'How many fire times.', example: 3 },
          override: documentedAs({ type: 'integer', minimum: 1, maximum: MAX_PREVIEW_FIRES, default: 10 }),
        }),
    },
    { once: ['timezone', 'count'] },
  ),
  response: {
    status: 200,
    description: 'The next fire times.',
    schema: SchedulePreviewSchema,
    examples: {
      // What previewSchedule answers on 2025-03-28T12:00Z for the documented parameters (a test checks).
      spring_forward: example('Across the spring-forward night in London', {
        expression: '30 1 * * *',
        timezone: 'Europe/London',
        schedule_expression: ['cron(30 1 * * ? *)'],
        fires: [
          { local: '2025-03-29T01:30', utc: '2025-03-29T01:30:00.000Z', repeated_local_time: false },
          { local: '2025-03-31T01:30', utc: '2025-03-31T00:30:00.000Z', repeated_local_time: false },
          { local: '2025-04-01T01:30', utc: '2025-04-01T00:30:00.000Z', repeated_local_time: false },
        ],
        skipped: [{ local: '2025-03-30T01:30', reason: 'nonexistent_local_time' }],
      }),
    },
  },
  errors: {
    401: true,
    422: 'A missing or invalid expression, an unknown timezone, or an invalid count.',
    500: true,
  },
});

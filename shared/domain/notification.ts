import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import type { Execution } from './execution.js';
import { ExecutionStatusSchema } from './execution.js';
import { TriggerTypeSchema } from './job.js';

/** What a notification reports: the `type` of its body, and what a channel's `events` filter names. */
export const ALERT_EVENT_TYPES = [
  'run.failed',
  'job.failing',
  'job.paused',
  'job.recovered',
  'fire.missed',
  'run.overdue',
  'test',
] as const;

export const AlertEventTypeSchema = z.enum(ALERT_EVENT_TYPES).register(z.globalRegistry, {
  id: 'AlertEventType',
  description:
    '`run.failed` (a run failed or timed out on its last attempt), `job.failing` (`failure_threshold` runs in a row failed), `job.paused` (the job was disabled after `pause_after_failures` failures in a row), `job.recovered` (first success after `job.failing`), `fire.missed` (a cron fire started no run within its grace), `run.overdue` (a run outlasted `max_duration_seconds`), `test`.',
});
export type AlertEventType = z.infer<typeof AlertEventTypeSchema>;

/** The part of a run a notification carries: enough to find it, never its prompt, parameters or output. */
export const NotificationExecutionSchema = z
  .object({
    execution_id: z.string(),
    status: ExecutionStatusSchema,
    trigger_type: TriggerTypeSchema,
    attempt: z.number(),
    max_attempts: z.number(),
    scheduled_at: z.nullable(z.string()),
    created_at: z.string(),
    started_at: z.nullable(z.string()),
    finished_at: z.nullable(z.string()),
    duration_ms: z.nullable(z.number()),
    error_message: z.nullable(z.string()),
  })
  .register(z.globalRegistry, {
    id: 'NotificationExecution',
    description: 'The run a notification is about.',
  });
export type NotificationExecution = z.infer<typeof NotificationExecutionSchema>;

/**
 * The JSON body POSTed to a webhook channel (signed with Standard Webhooks headers, `webhook-id` being
 * `id`), published to an SNS channel, and the `detail` of the EventBridge event.
 */
export const NotificationSchema = z
  .object({
    type: AlertEventTypeSchema,
    id: z.string().register(z.globalRegistry, {
      description:
        'The event id (`evt_…`), also sent as `webhook-id`: the same event retried keeps it, so receivers can drop repeats.',
    }),
    occurred_at: z
      .string()
      .register(z.globalRegistry, { description: 'When the service decided the event, ISO 8601 UTC.' }),
    job: z.nullable(z.object({ id: z.string(), name: z.string() })).register(z.globalRegistry, {
      description: 'The job; null for `test`.',
    }),
    execution: z.nullable(NotificationExecutionSchema).register(z.globalRegistry, {
      description: 'The run, for `run.failed`, `run.overdue` and the events a run caused; null otherwise.',
    }),
    consecutive_failures: z.number().register(z.globalRegistry, {
      description: 'Runs in a row that failed, as of this event.',
    }),
    message: z.string().register(z.globalRegistry, { description: 'One readable sentence.' }),
    console_url: z.nullable(z.string()).register(z.globalRegistry, {
      description: 'The job or run in the console, when the service knows its address.',
    }),
  })
  .register(z.globalRegistry, { id: 'Notification', description: 'What a notification channel receives.' });
export type Notification = z.infer<typeof NotificationSchema>;

/**
 * An event id that depends only on what the event is about (`key`, e.g. `<execution id>:run.failed`), so a
 * decision taken twice (a result delivered twice, two sweeps) names the same event and is written once.
 */
export function eventId(key: string): string {
  return `evt_${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

/** A fresh event id, for events that are never decided twice (`test`). */
export function randomEventId(): string {
  return `evt_${randomBytes(16).toString('hex')}`;
}

export function notificationExecution(execution: Execution): NotificationExecution {
  return {
    execution_id: execution.execution_id,
    status: execution.status,
    trigger_type: execution.trigger_type,
    attempt: execution.attempt,
    max_attempts: execution.max_attempts,
    scheduled_at: execution.scheduled_at,
    created_at: execution.created_at,
    started_at: execution.started_at,
    finished_at: execution.finished_at,
    duration_ms: execution.duration_ms,
    error_message: execution.error_message,
  };
}

/**
 * The EventBridge `detail-type` of each notification type; `run.failed` has none of its own, since every
 * run that fails is put on the bus as its state change (`RUN_DETAIL_TYPES`, shared/domain/run-events.ts).
 */
export const DETAIL_TYPES: Record<Exclude<AlertEventType, 'run.failed'>, string> = {
  'job.failing': 'Job Failing',
  'job.paused': 'Job Paused',
  'job.recovered': 'Job Recovered',
  'fire.missed': 'Job Fire Missed',
  'run.overdue': 'Job Run Overdue',
  test: 'Notification Test',
};

/**
 * Where a job, or one of its runs, is in the console of the deployment at `publicBaseUrl`; null when the
 * deployment does not know its address.
 */
export function consoleUrlOf(
  publicBaseUrl: string | undefined,
  jobId: string,
  executionId?: string,
): string | null {
  const base = publicBaseUrl?.replace(/\/$/, '');
  if (!base) return null;
  return `${base}/console#/jobs/${jobId}${executionId ? `/runs/${executionId}` : ''}`;
}

import * as z from 'zod/mini';
import { EntityTypeSchema, TriggerTypeSchema } from './job.js';
import { JsonObjectSchema } from './json.js';
import { RunConfigObjectSchema } from './run-config.js';

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
] as const;
export const ExecutionStatusSchema = z.enum(EXECUTION_STATUSES).register(z.globalRegistry, {
  id: 'ExecutionStatus',
  description: 'queued → running → succeeded | failed | timed_out | cancelled, or skipped.',
});
export type ExecutionStatus = z.infer<typeof ExecutionStatusSchema>;

/** States a run never leaves. */
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
];
export const isTerminal = (status: ExecutionStatus) => TERMINAL_STATUSES.includes(status);

/** Largest `output` kept on an execution; larger outputs are cut and flagged `output_truncated`. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * Deepest `offset` of a job's history; deeper pages are reached with `cursor`. Skipped runs are read as
 * keys only, but each still costs a read, so the cap bounds what one request may cost.
 */
export const MAX_HISTORY_OFFSET = 1_000;

/**
 * Largest execution record before its output: with the output cap and the stored attributes it stays
 * inside DynamoDB's 400 KB item limit through every later write.
 */
export const MAX_EXECUTION_BYTES = 256 * 1024;

/** An execution as the API returns it. */
export const ExecutionSchema = z
  .object({
    execution_id: z.string().register(z.globalRegistry, {
      description: 'The execution id: `exec_`, a time-ordered part and random hex.',
    }),
    workflow_id: z.string().register(z.globalRegistry, {
      description: 'The workflow id of the run (`wf_` and the execution id’s suffix).',
    }),
    job_id: z.string(),
    job_name: z.string(),
    status: ExecutionStatusSchema,
    trigger_type: TriggerTypeSchema,
    parameters: JsonObjectSchema.clone().register(z.globalRegistry, {
      description: 'The parameters the trigger gave.',
    }),
    prompt: z.string().register(z.globalRegistry, { description: 'The rendered prompt template.' }),
    system_prompt: z.nullable(z.string()),
    config: RunConfigObjectSchema.clone().register(z.globalRegistry, {
      description: 'The job’s config with the trigger’s `config_override` applied.',
    }),
    entity_id: z.string(),
    entity_type: EntityTypeSchema,
    queue: z.string().register(z.globalRegistry, { description: 'The worker queue the run was sent to.' }),
    environment_name: z.nullable(z.string()),
    metadata: JsonObjectSchema.clone().register(z.globalRegistry, {
      description: 'What the trigger recorded; webhook runs hold `webhook: {scheme, delivery_id, secret}`.',
    }),
    dedupe_key: z.nullable(z.string()).register(z.globalRegistry, {
      description:
        'Webhook delivery id, idempotency key or cron fire time that made this run, when there is one.',
    }),
    replay_of: z.optional(z.string()).register(z.globalRegistry, {
      description:
        'Only on a run started by `POST /jobs/{id}/executions/{execution_id}/replay`: the execution it replays.',
    }),
    scheduled_at: z.nullable(z.string()).register(z.globalRegistry, {
      description: 'Cron runs: the fire time this run is for.',
    }),
    lateness_ms: z.nullable(z.number()).register(z.globalRegistry, {
      description: 'Cron runs: how long after `scheduled_at` the run started, once it has.',
    }),
    attempt: z.number().register(z.globalRegistry, { description: 'The current attempt, from 1.' }),
    max_attempts: z.number().register(z.globalRegistry, {
      description: 'Attempts allowed by the run’s `retry.max_attempts`.',
    }),
    created_at: z.string(),
    started_at: z.nullable(z.string()),
    finished_at: z.nullable(z.string()),
    duration_ms: z.nullable(z.number()),
    deadline_at: z
      .nullable(z.string())
      .register(z.globalRegistry, { description: 'When the current attempt times out.' }),
    error_message: z.nullable(z.string()),
    output: z
      .unknown()
      .register(z.globalRegistry, { description: 'What the target returned (JSON), cut to 64 KiB.' }),
    output_truncated: z.boolean().register(z.globalRegistry, { description: 'True when `output` was cut.' }),
    target_execution_arn: z.optional(z.string()).register(z.globalRegistry, {
      description:
        '`stepfunctions` targets: the ARN of the state machine execution the run started, once it has started one.',
    }),
  })
  .register(z.globalRegistry, { id: 'Execution', description: 'One run of a job.' });
export type Execution = z.infer<typeof ExecutionSchema>;

/** Body of `POST /jobs/{id}/trigger`. */
export const TriggerRequestSchema = z
  .strictObject({
    parameters: z.optional(z.nullable(JsonObjectSchema)).register(z.globalRegistry, {
      description: 'Values for the prompt template’s placeholders; each placeholder needs one.',
    }),
    config_override: z.optional(z.nullable(RunConfigObjectSchema)).register(z.globalRegistry, {
      description: 'Changes to the job’s `config` for this run only (`retry` is merged key by key).',
    }),
  })
  .register(z.globalRegistry, {
    id: 'TriggerRequest',
    description: 'Body of `POST /jobs/{id}/trigger`; an empty body is a trigger without parameters.',
  });
/** A trigger body as validated by TriggerRequestSchema. */
export type TriggerRequest = z.output<typeof TriggerRequestSchema>;

/** The answer to a trigger, as the reference has it. */
export const TriggerResponseSchema = z
  .object({
    workflow_id: z.string(),
    execution_id: z.string(),
    status: ExecutionStatusSchema,
  })
  .register(z.globalRegistry, {
    id: 'TriggerResponse',
    description: 'The run a trigger or a webhook delivery started (or, repeated, the first one).',
  });
export type TriggerResponse = z.infer<typeof TriggerResponseSchema>;

export const ExecutionListResponseSchema = z
  .object({
    total_count: z.number(),
    executions: z.array(ExecutionSchema),
    next_cursor: z.nullable(z.string()),
  })
  .register(z.globalRegistry, { id: 'ExecutionList', description: 'A page of executions, newest first.' });
export type ExecutionListResponse = z.infer<typeof ExecutionListResponseSchema>;

/** A page of `GET /executions`: runs of every job (or of one), newest first. */
export const RecentExecutionListResponseSchema = z
  .object({
    executions: z.array(ExecutionSchema),
    next_cursor: z.nullable(z.string()).register(z.globalRegistry, {
      description:
        'Pass as `cursor` for the next page; null on the last. A page may be short, or empty, and still have one.',
    }),
  })
  .register(z.globalRegistry, {
    id: 'RecentExecutionList',
    description: 'A page of runs across jobs, newest first.',
  });
export type RecentExecutionListResponse = z.infer<typeof RecentExecutionListResponseSchema>;

/** Body a target posts to `/executions/{id}/callback` to finish an accepted (202) run. */
export const CallbackRequestSchema = z
  .strictObject({
    status: z.enum(['succeeded', 'failed']),
    output: z
      .optional(z.unknown())
      .register(z.globalRegistry, { description: 'The result, any JSON; cut to 64 KiB.' }),
    error_message: z
      .optional(z.nullable(z.string().check(z.maxLength(4000, 'must be at most 4000 characters'))))
      .register(z.globalRegistry, { description: 'With `failed`: why (at most 4000 characters).' }),
  })
  .register(z.globalRegistry, {
    id: 'CallbackRequest',
    description: 'The result a target reports for a run it accepted with 202.',
  });
export type CallbackRequest = z.infer<typeof CallbackRequestSchema>;

/**
 * What a target receives for each attempt: the JSON body POSTed to an `http` target (signed with
 * Standard Webhooks headers), the payload of a `lambda` target, and (without `callback`) the output of
 * the `echo` target. The callback lets an accepting (202) target finish the run later.
 */
export const ExecutionRequestSchema = z
  .object({
    execution_id: z.string().register(z.globalRegistry, {
      description:
        'The execution id, also sent as `webhook-id`. Every attempt of a run has the same one, so a target can make its work idempotent on it.',
    }),
    workflow_id: z.string().register(z.globalRegistry, {
      description: 'The workflow id of the run (`wf_` and the execution id’s suffix).',
    }),
    job_id: z.string().register(z.globalRegistry, { description: 'The job this is a run of.' }),
    job_name: z
      .string()
      .register(z.globalRegistry, { description: 'The job’s name when the run was created.' }),
    entity: z
      .object({
        id: z.string(),
        type: EntityTypeSchema.clone().register(z.globalRegistry, {
          description: '`agent`, `team` or `workflow`.',
        }),
        name: z.string(),
      })
      .register(z.globalRegistry, { description: 'The entity the run was sent to.' }),
    trigger_type: TriggerTypeSchema.clone().register(z.globalRegistry, {
      description: 'What started the run.',
    }),
    prompt: z
      .string()
      .register(z.globalRegistry, { description: 'The job’s prompt template rendered with `parameters`.' }),
    system_prompt: z
      .nullable(z.string())
      .register(z.globalRegistry, { description: 'The job’s system prompt, or null.' }),
    parameters: JsonObjectSchema.clone().register(z.globalRegistry, {
      description: 'The parameters the trigger gave; `{}` when it gave none.',
    }),
    config: RunConfigObjectSchema.clone().register(z.globalRegistry, {
      description:
        'The job’s config with the trigger’s `config_override` applied; keys the service does not read pass through untouched.',
    }),
    metadata: JsonObjectSchema.clone().register(z.globalRegistry, {
      description: 'What the trigger recorded; webhook runs hold `webhook: {scheme, delivery_id, secret}`.',
    }),
    environment: z
      .nullable(z.object({ name: z.string(), variables: z.record(z.string(), z.string()) }))
      .register(z.globalRegistry, {
        description:
          'With `executor_type: environment`: the deployment environment and its variables; null otherwise.',
      }),
    attempt: z.number().check(z.int(), z.minimum(1)).register(z.globalRegistry, {
      description: 'This attempt’s number, from 1. A retry sends the request again with the next number.',
    }),
    deadline_at: z.string().register(z.globalRegistry, {
      description:
        'When the run times out: its `config.timeout` (default 3600 s) after the first attempt started. The same for every attempt; an accepted run must call back before it.',
    }),
    callback: z
      .object({
        url: z.string().register(z.globalRegistry, {
          description: 'The run’s `/executions/{id}/callback` on the service’s public address.',
        }),
        token: z.string().register(z.globalRegistry, {
          description:
            'A secret: it finishes the run. Valid for this attempt only; a retry sends a new one. Do not log it.',
        }),
      })
      .register(z.globalRegistry, {
        description:
          'Where a target that answered 202 reports the result: `POST` a CallbackRequest to `url` with `Authorization: Bearer <token>`.',
      }),
  })
  .register(z.globalRegistry, {
    id: 'ExecutionRequest',
    description:
      'What a target receives for each attempt of a run: the signed body POSTed to an `http` target (see the `executionRequest` webhook), the payload of a `lambda` target. Targets should ignore fields they do not know.',
  });
export type ExecutionRequest = z.infer<typeof ExecutionRequestSchema>;

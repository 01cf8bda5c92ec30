import * as z from 'zod';
import { EntityTypeSchema, TriggerTypeSchema } from './job.js';
import { JsonObjectSchema } from './json.js';

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
] as const;
export const ExecutionStatusSchema = z.enum(EXECUTION_STATUSES);
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
export const ExecutionSchema = z.object({
  execution_id: z.string(),
  workflow_id: z.string(),
  job_id: z.string(),
  job_name: z.string(),
  status: ExecutionStatusSchema,
  trigger_type: TriggerTypeSchema,
  parameters: JsonObjectSchema,
  /** The rendered prompt template. */
  prompt: z.string(),
  system_prompt: z.string().nullable(),
  /** The job's config with the trigger's `config_override` applied. */
  config: JsonObjectSchema,
  entity_id: z.string(),
  entity_type: EntityTypeSchema,
  queue: z.string(),
  environment_name: z.string().nullable(),
  metadata: JsonObjectSchema,
  /** Webhook delivery id or cron fire time that made this run, when there is one. */
  dedupe_key: z.string().nullable(),
  /** Cron runs: the fire time this run is for. */
  scheduled_at: z.string().nullable(),
  /** Cron runs: how long after `scheduled_at` the run started (`started_at` − `scheduled_at`), once it has. */
  lateness_ms: z.number().nullable(),
  attempt: z.number(),
  max_attempts: z.number(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  deadline_at: z.string().nullable(),
  error_message: z.string().nullable(),
  output: z.unknown(),
  output_truncated: z.boolean(),
});
export type Execution = z.infer<typeof ExecutionSchema>;

/** Body of `POST /jobs/{id}/trigger`. */
export const TriggerRequestSchema = z.strictObject({
  parameters: JsonObjectSchema.nullable().optional(),
  config_override: JsonObjectSchema.nullable().optional(),
});

/** The answer to a trigger, as the reference has it. */
export const TriggerResponseSchema = z.object({
  workflow_id: z.string(),
  execution_id: z.string(),
  status: ExecutionStatusSchema,
});
export type TriggerResponse = z.infer<typeof TriggerResponseSchema>;

export const ExecutionListResponseSchema = z.object({
  total_count: z.number(),
  executions: z.array(ExecutionSchema),
  next_cursor: z.string().nullable(),
});
export type ExecutionListResponse = z.infer<typeof ExecutionListResponseSchema>;

/** Body a target posts to `/executions/{id}/callback` to finish an accepted (202) run. */
export const CallbackRequestSchema = z.strictObject({
  status: z.enum(['succeeded', 'failed']),
  output: z.unknown().optional(),
  error_message: z.string().max(4000, 'must be at most 4000 characters').nullable().optional(),
});
export type CallbackRequest = z.infer<typeof CallbackRequestSchema>;

/**
 * What a target receives for each attempt: the JSON body POSTed to an `http` target (signed with
 * Standard Webhooks headers), the payload of a `lambda` target, and (without `callback`) the output of
 * the `echo` target. The callback lets an accepting (202) target finish the run later.
 */
export const ExecutionRequestSchema = z.object({
  /** The execution id; also the `webhook-id` header, so a target can drop a repeated attempt's work. */
  execution_id: z.string(),
  /** The workflow id of the run (`wf_` and the execution id's suffix). */
  workflow_id: z.string(),
  /** The job this is a run of. */
  job_id: z.string(),
  /** The job's name when the run was created. */
  job_name: z.string(),
  /** The entity the run was sent to: its id, type and name. */
  entity: z.object({ id: z.string(), type: EntityTypeSchema, name: z.string() }),
  /** What started the run. */
  trigger_type: TriggerTypeSchema,
  /** The job's prompt template rendered with `parameters`. */
  prompt: z.string(),
  /** The job's system prompt, or null. */
  system_prompt: z.string().nullable(),
  /** The parameters the trigger gave (empty when it gave none). */
  parameters: JsonObjectSchema,
  /** The job's config with the trigger's `config_override` applied; unknown keys pass through untouched. */
  config: JsonObjectSchema,
  /** What the trigger recorded; webhook runs hold `webhook: {scheme, delivery_id, secret}`. */
  metadata: JsonObjectSchema,
  /** The deployment environment the job runs in, with its variables; null when it names none. */
  environment: z.object({ name: z.string(), variables: z.record(z.string(), z.string()) }).nullable(),
  /** This attempt's number, from 1; a retry sends the same request with the next number. */
  attempt: z.number().int().min(1),
  /** When the run times out (its `config.timeout` after it first started), whatever the attempt. */
  deadline_at: z.string(),
  /**
   * Where an accepting (202) target reports the result: POST a CallbackRequest to `url` with
   * `Authorization: Bearer <token>`. The token is a secret and holds for this attempt only.
   */
  callback: z.object({ url: z.string(), token: z.string() }),
});
export type ExecutionRequest = z.infer<typeof ExecutionRequestSchema>;

import { z } from 'zod';
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
 * What a target receives for each attempt (the HTTP body, the Lambda payload, the echo output). The
 * callback token lets an accepting (202) target finish the run later.
 */
export interface ExecutionRequest {
  execution_id: string;
  workflow_id: string;
  job_id: string;
  job_name: string;
  entity: { id: string; type: string; name: string };
  trigger_type: string;
  prompt: string;
  system_prompt: string | null;
  parameters: Record<string, unknown>;
  config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  environment: { name: string; variables: Record<string, string> } | null;
  attempt: number;
  deadline_at: string;
  callback: { url: string; token: string };
}

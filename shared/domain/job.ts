import * as z from 'zod/mini';
import { toEventBridgeCron, UntranslatableCronError } from './aws-cron.js';
import { CronSyntaxError, parseCron } from './cron.js';
import { neverFires } from './cron-schedule.js';
import { type ErrorDetail, ValidationError } from './errors.js';
import { JsonObjectSchema } from './json.js';
import { RunConfigObjectSchema, runConfigViolations } from './run-config.js';

export const TRIGGER_TYPES = ['cron', 'webhook', 'manual'] as const;
export const PLANNING_MODES = [
  'on_the_fly',
  'predefined_agent',
  'predefined_team',
  'predefined_workflow',
] as const;
export const ENTITY_TYPES = ['agent', 'team', 'workflow'] as const;
export const EXECUTOR_TYPES = ['auto', 'specific_queue', 'environment'] as const;
/** Why the service itself disabled a job. */
export const DISABLED_REASONS = ['consecutive_failures'] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];

export const TriggerTypeSchema = z.enum(TRIGGER_TYPES).register(z.globalRegistry, {
  id: 'TriggerType',
  description: 'What starts runs of a job.',
});
export const PlanningModeSchema = z.enum(PLANNING_MODES).register(z.globalRegistry, {
  id: 'PlanningMode',
  description: 'How a run is planned.',
});
export const EntityTypeSchema = z.enum(ENTITY_TYPES).register(z.globalRegistry, {
  id: 'EntityType',
  description: 'The kind of entity a run goes to.',
});
export const ExecutorTypeSchema = z.enum(EXECUTOR_TYPES).register(z.globalRegistry, {
  id: 'ExecutorType',
  description: "Which queue a job's runs go to.",
});

export type TriggerType = z.infer<typeof TriggerTypeSchema>;
export type PlanningMode = z.infer<typeof PlanningModeSchema>;
export type EntityType = z.infer<typeof EntityTypeSchema>;
export type ExecutorType = z.infer<typeof ExecutorTypeSchema>;

/** Largest stored job document; keeps every job well inside DynamoDB's 400 KB item limit. */
export const MAX_JOB_DOCUMENT_BYTES = 256 * 1024;
const MAX_PROMPT_CHARS = 64 * 1024;

/**
 * IANA zone names as EventBridge Scheduler takes them: `UTC` or `Area/Location` with each part
 * capitalised as in the tz database. Intl ignores case, so the shape check keeps `america/new_york`
 * and abbreviations such as `EST` out.
 */
export function isIanaTimezone(name: string): boolean {
  if (name !== 'UTC' && !/^[A-Z][A-Za-z_-]*(\/[A-Z][A-Za-z0-9_+-]*)+$/.test(name)) return false;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  // Intl resolves `Europe/LONDON` to `Europe/London`: same name, other spelling, which EventBridge
  // would refuse. Links such as `US/Eastern` resolve to a different name and are fine.
  return resolved === name || resolved.toLowerCase() !== name.toLowerCase();
}

const NameSchema = z
  .string()
  .check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(200, 'must be at most 200 characters'));
const DescriptionSchema = z.string().check(z.maxLength(4000, 'must be at most 4000 characters'));
const CronScheduleSchema = z.string().check(z.maxLength(200, 'must be at most 200 characters'));
const TimezoneSchema = z.string().check(
  z.refine(isIanaTimezone, {
    message: 'is not a known IANA timezone (for example "UTC" or "America/New_York")',
  }),
);
const EntityIdSchema = z
  .string()
  .check(z.minLength(1, 'must not be empty'), z.maxLength(256, 'must be at most 256 characters'));
const PromptSchema = z
  .string()
  .check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`),
  );
const SystemPromptSchema = z
  .string()
  .check(z.maxLength(MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`));
// Queue and environment names become parts of SQS queue names, so they keep to SQS's alphabet.
const ResourceNameSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "-" or "_"'));

const jobFields = {
  name: NameSchema,
  description: z.nullable(DescriptionSchema),
  trigger_type: TriggerTypeSchema.clone().register(z.globalRegistry, {
    description: 'What starts runs: a cron schedule, signed webhook deliveries, or manual triggers only.',
  }),
  cron_schedule: z.nullable(CronScheduleSchema).register(z.globalRegistry, {
    description:
      'Cron jobs: a 5-field cron expression (minute hour day-of-month month day-of-week) in `cron_timezone`; null otherwise.',
  }),
  cron_timezone: TimezoneSchema.clone().register(z.globalRegistry, {
    description: 'IANA timezone of `cron_schedule`, such as `UTC` or `America/New_York`. Default `UTC`.',
  }),
  planning_mode: PlanningModeSchema.clone().register(z.globalRegistry, {
    description:
      'Default `on_the_fly`. `predefined_agent` and `predefined_team` need `entity_type` and `entity_id` of that type; `predefined_workflow` may name a workflow.',
  }),
  entity_type: z.nullable(EntityTypeSchema).register(z.globalRegistry, {
    description:
      'Type of the entity runs go to; with `entity_id`, or both null for the deployment default entity.',
  }),
  entity_id: z.nullable(EntityIdSchema).register(z.globalRegistry, {
    description: 'The entity runs go to; null for the deployment default entity.',
  }),
  prompt_template: PromptSchema.clone().register(z.globalRegistry, {
    description:
      'The prompt; `{{ name }}` placeholders (dotted paths allowed) are filled from the trigger’s `parameters`.',
  }),
  system_prompt: z.nullable(SystemPromptSchema),
  executor_type: ExecutorTypeSchema.clone().register(z.globalRegistry, {
    description:
      'Default `auto` (the default queue); `specific_queue` uses `worker_queue_name`, `environment` the queue of `environment_name`.',
  }),
  worker_queue_name: z.nullable(ResourceNameSchema).register(z.globalRegistry, {
    description:
      'With `executor_type: specific_queue`: the worker queue; must be one the deployment declares.',
  }),
  environment_name: z.nullable(ResourceNameSchema).register(z.globalRegistry, {
    description: 'With `executor_type: environment`: the environment; must be one the deployment declares.',
  }),
  config: RunConfigObjectSchema.clone().register(z.globalRegistry, {
    description: 'Run settings; see RunConfig. Default `{}`.',
  }),
  execution_environment: JsonObjectSchema.clone().register(z.globalRegistry, {
    description: 'A JSON object kept with the job as given. Default `{}`.',
  }),
  enabled: z.boolean().register(z.globalRegistry, {
    description: 'A disabled job does not fire and refuses triggers and deliveries (409). Default true.',
  }),
};

/** Body of `POST /jobs`: `name`, `trigger_type` and `prompt_template` are required, the rest has defaults. */
export const JobCreateSchema = z
  .strictObject({
    name: jobFields.name,
    trigger_type: jobFields.trigger_type,
    prompt_template: jobFields.prompt_template,
    description: z.optional(jobFields.description),
    cron_schedule: z.optional(jobFields.cron_schedule),
    cron_timezone: z.optional(z.nullable(jobFields.cron_timezone)),
    planning_mode: z.optional(z.nullable(jobFields.planning_mode)),
    entity_type: z.optional(jobFields.entity_type),
    entity_id: z.optional(jobFields.entity_id),
    system_prompt: z.optional(jobFields.system_prompt),
    executor_type: z.optional(z.nullable(jobFields.executor_type)),
    worker_queue_name: z.optional(jobFields.worker_queue_name),
    environment_name: z.optional(jobFields.environment_name),
    config: z.optional(z.nullable(jobFields.config)),
    execution_environment: z.optional(z.nullable(jobFields.execution_environment)),
    enabled: z.optional(jobFields.enabled),
  })
  .register(z.globalRegistry, {
    id: 'JobCreate',
    description:
      'Body of `POST /jobs`: `name`, `trigger_type` and `prompt_template` are required, the rest has defaults.',
  });

/** Body of `PATCH /jobs/{id}`: any subset of the fields; `null` clears an optional one. */
export const JobPatchSchema = z.partial(JobCreateSchema).register(z.globalRegistry, {
  id: 'JobPatch',
  description: 'Body of `PATCH /jobs/{id}`: any subset of the fields; `null` clears an optional one.',
});

/** Everything a caller controls about a job, with defaults applied and every field present. */
export const JobSpecSchema = z.object(jobFields);

/** A job as the API returns it. Not strict, so an older SDK tolerates fields added later. */
export const JobSchema = z
  .extend(JobSpecSchema, {
    id: z.string().register(z.globalRegistry, { description: 'The job id: `job_` and a UUID.' }),
    created_at: z.string().register(z.globalRegistry, { description: 'ISO 8601, UTC.' }),
    updated_at: z.string().register(z.globalRegistry, { description: 'ISO 8601, UTC.' }),
    webhook_path: z.optional(z.nullable(z.string())).register(z.globalRegistry, {
      description: 'Webhook jobs: the unguessable last part of `webhook_url`.',
    }),
    webhook_url: z.optional(z.nullable(z.string())).register(z.globalRegistry, {
      description: 'Webhook jobs: where to POST deliveries, on the address the API was called on.',
    }),
    webhook_secret: z.optional(z.string()).register(z.globalRegistry, {
      description:
        'Webhook jobs: the signing secret (`whsec_…`), only in the answer that created it (create, or a switch to `webhook`).',
    }),
    webhook_secret_rotated_at: z.optional(z.nullable(z.string())).register(z.globalRegistry, {
      description: 'Webhook jobs, `GET /jobs/{id}` only: when the secret was last rotated.',
    }),
    webhook_last_secret_used: z
      .optional(z.nullable(z.enum(['current', 'previous'])))
      .register(z.globalRegistry, {
        description:
          'Webhook jobs, `GET /jobs/{id}` only: which secret verified the latest delivery; retiring the old one is safe once it reads `current`.',
      }),
    next_run_at: z.optional(z.nullable(z.string())).register(z.globalRegistry, {
      description: 'Cron jobs: the next fire time (null while disabled).',
    }),
    schedule_expression: z.optional(z.array(z.string())).register(z.globalRegistry, {
      description:
        'Cron jobs: the EventBridge Scheduler expression(s) the schedule maps to (two when both day fields are restricted).',
    }),
    disabled_reason: z.optional(z.nullable(z.enum(DISABLED_REASONS))).register(z.globalRegistry, {
      description:
        'Why the service disabled the job: `consecutive_failures` (`config.alerts.pause_after_failures`); absent when it did not. Enabling the job clears it.',
    }),
    consecutive_failures: z.optional(z.number()).register(z.globalRegistry, {
      description: '`GET /jobs/{id}` only: runs in a row that failed (0 after a success).',
    }),
    last_failure_at: z.optional(z.nullable(z.string())).register(z.globalRegistry, {
      description: '`GET /jobs/{id}` only: when a run last failed or timed out.',
    }),
    last_success_at: z.optional(z.nullable(z.string())).register(z.globalRegistry, {
      description: '`GET /jobs/{id}` only: when a run last succeeded.',
    }),
  })
  .register(z.globalRegistry, {
    id: 'Job',
    description: 'A job as the API returns it. Clients should ignore fields they do not know.',
  });

export const JobListResponseSchema = z
  .object({
    jobs: z.array(JobSchema),
    next_cursor: z.nullable(z.string()),
  })
  .register(z.globalRegistry, {
    id: 'JobList',
    description: 'A page of jobs, newest first; `next_cursor` is null on the last page.',
  });

export type JobCreateInput = z.input<typeof JobCreateSchema>;
export type JobPatchInput = z.input<typeof JobPatchSchema>;
/** A create body as validated by JobCreateSchema. */
export type JobCreate = z.output<typeof JobCreateSchema>;
/** A patch body as validated by JobPatchSchema. */
export type JobPatch = z.output<typeof JobPatchSchema>;
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type Job = z.infer<typeof JobSchema>;
export type JobListResponse = z.infer<typeof JobListResponseSchema>;

/** What `GET /jobs` lists: the filters given, and a page. */
export interface JobListFilter {
  enabled?: boolean;
  trigger_type?: TriggerType;
  limit: number;
  cursor?: string;
}

/**
 * The complete spec of a validated create body, with defaults applied, or a `ValidationError` naming
 * each broken rule. The cross-field rules run on well-formed fields only, so they can rely on the types.
 */
export function buildJobSpec(input: JobCreate): JobSpec {
  const spec: JobSpec = {
    name: input.name,
    description: input.description ?? null,
    trigger_type: input.trigger_type,
    cron_schedule: input.cron_schedule ?? null,
    cron_timezone: input.cron_timezone ?? 'UTC',
    planning_mode: input.planning_mode ?? 'on_the_fly',
    entity_type: input.entity_type ?? null,
    entity_id: input.entity_id ?? null,
    prompt_template: input.prompt_template,
    system_prompt: input.system_prompt ?? null,
    executor_type: input.executor_type ?? 'auto',
    worker_queue_name: input.worker_queue_name ?? null,
    environment_name: input.environment_name ?? null,
    config: input.config ?? {},
    execution_environment: input.execution_environment ?? {},
    enabled: input.enabled ?? true,
  };
  assertJobRules(spec);
  return spec;
}

/**
 * Applies a PATCH body to a job's spec and validates the result as a whole. Changing the field that
 * governs another (trigger_type → cron_schedule, executor_type → queue/environment name) clears the
 * dependent field unless the same patch sets it, so a switch takes one request.
 */
export function applyJobPatch(current: JobSpec, patch: JobPatch): JobSpec {
  const next: JobSpec = { ...current };
  for (const [key, value] of Object.entries(patch) as [keyof JobSpec, unknown][]) {
    if (value === undefined) continue;
    (next as Record<string, unknown>)[key] = value;
  }
  if (patch.cron_timezone === null) next.cron_timezone = 'UTC';
  if (patch.planning_mode === null) next.planning_mode = 'on_the_fly';
  if (patch.executor_type === null) next.executor_type = 'auto';
  if (patch.config === null) next.config = {};
  if (patch.execution_environment === null) next.execution_environment = {};

  if (next.trigger_type !== 'cron' && patch.cron_schedule === undefined) next.cron_schedule = null;
  if (next.executor_type !== 'specific_queue' && patch.worker_queue_name === undefined)
    next.worker_queue_name = null;
  if (next.executor_type !== 'environment' && patch.environment_name === undefined)
    next.environment_name = null;
  assertJobRules(next);
  return next;
}

const REQUIRED_ENTITY_TYPE: Partial<Record<PlanningMode, EntityType>> = {
  predefined_agent: 'agent',
  predefined_team: 'team',
  predefined_workflow: 'workflow',
};

/** The rules that relate fields to each other; each broken rule names the field to fix. */
export function jobRuleViolations(spec: JobSpec): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  if (spec.trigger_type === 'cron') {
    if (spec.cron_schedule === null) {
      problems.push({
        path: 'cron_schedule',
        message: 'is required when trigger_type is "cron"',
        code: 'required',
      });
    } else {
      const problem = cronScheduleProblem(spec.cron_schedule);
      if (problem) problems.push({ path: 'cron_schedule', ...problem });
      if (problem?.code === 'untranslatable_cron') return problems;
    }
  } else if (spec.cron_schedule !== null) {
    problems.push({
      path: 'cron_schedule',
      message: `is only allowed when trigger_type is "cron" (it is "${spec.trigger_type}")`,
      code: 'not_allowed',
    });
  }

  const wantedEntityType = REQUIRED_ENTITY_TYPE[spec.planning_mode];
  // A workflow job may name no entity (the reference's example does not); it then runs on the default.
  const entityRequired =
    spec.planning_mode === 'predefined_agent' || spec.planning_mode === 'predefined_team';
  if (entityRequired && spec.entity_type === null) {
    problems.push({
      path: 'entity_type',
      message: `is required when planning_mode is "${spec.planning_mode}"`,
      code: 'required',
    });
  }
  if (entityRequired && spec.entity_id === null) {
    problems.push({
      path: 'entity_id',
      message: `is required when planning_mode is "${spec.planning_mode}"`,
      code: 'required',
    });
  }
  if (wantedEntityType && spec.entity_type !== null && spec.entity_type !== wantedEntityType) {
    problems.push({
      path: 'entity_type',
      message: `must be "${wantedEntityType}" when planning_mode is "${spec.planning_mode}"`,
      code: 'mismatch',
    });
  }
  if (spec.entity_id !== null && spec.entity_type === null && !entityRequired) {
    problems.push({ path: 'entity_type', message: 'is required when entity_id is set', code: 'required' });
  }
  if (spec.entity_type !== null && spec.entity_id === null && !entityRequired) {
    problems.push({ path: 'entity_id', message: 'is required when entity_type is set', code: 'required' });
  }

  if (spec.executor_type === 'specific_queue' && spec.worker_queue_name === null) {
    problems.push({
      path: 'worker_queue_name',
      message: 'is required when executor_type is "specific_queue"',
      code: 'required',
    });
  }
  if (spec.executor_type !== 'specific_queue' && spec.worker_queue_name !== null) {
    problems.push({
      path: 'worker_queue_name',
      message: `is only used when executor_type is "specific_queue" (it is "${spec.executor_type}")`,
      code: 'not_allowed',
    });
  }
  if (spec.executor_type === 'environment' && spec.environment_name === null) {
    problems.push({
      path: 'environment_name',
      message: 'is required when executor_type is "environment"',
      code: 'required',
    });
  }
  if (spec.executor_type !== 'environment' && spec.environment_name !== null) {
    problems.push({
      path: 'environment_name',
      message: `is only used when executor_type is "environment" (it is "${spec.executor_type}")`,
      code: 'not_allowed',
    });
  }

  problems.push(...runConfigViolations(spec.config, 'config'));

  const size = new TextEncoder().encode(JSON.stringify(spec)).length;
  if (size > MAX_JOB_DOCUMENT_BYTES) {
    problems.push({
      path: '',
      message: `the job would take ${size} bytes; the limit is ${MAX_JOB_DOCUMENT_BYTES}`,
      code: 'too_large',
    });
  }
  return problems;
}

function assertJobRules(spec: JobSpec): void {
  const problems = jobRuleViolations(spec);
  if (problems.length > 0) throw new ValidationError(problems);
}

/**
 * Why a cron expression cannot be a job's schedule (the message and code of the problem), or null when
 * it can: it must parse as 5 fields, translate to EventBridge Scheduler, and fire at all. Job rules and
 * the schedule preview share it, so both refuse the same expressions in the same words.
 */
export function cronScheduleProblem(expression: string): { message: string; code: string } | null {
  try {
    const cron = parseCron(expression);
    toEventBridgeCron(cron);
    if (neverFires(cron)) {
      return {
        message: 'never fires: no month has the day it names (for example "0 0 30 2 *")',
        code: 'never_fires',
      };
    }
    return null;
  } catch (error) {
    if (error instanceof UntranslatableCronError) {
      return { message: `cannot be scheduled: ${error.message}`, code: 'untranslatable_cron' };
    }
    if (!(error instanceof CronSyntaxError)) throw error;
    return { message: `is not a valid 5-field cron expression: ${error.message}`, code: 'invalid_cron' };
  }
}

import * as z from 'zod';
import { DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS } from '../adapters/http-target.js';
import { previewSchedule } from '../app/schedules.js';
import {
  RateLimitedError,
  WebhookDeliverySchema,
  WebhookRejectedError,
  WebhookSecretRotateRequestSchema,
} from '../app/webhooks.js';
import { EntityCreateSchema, EntityPatchSchema, EntitySchema, EntityTargetSchema } from '../domain/entity.js';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../domain/errors.js';
import {
  CallbackRequestSchema,
  type Execution,
  ExecutionListResponseSchema,
  type ExecutionRequest,
  ExecutionRequestSchema,
  ExecutionSchema,
  ExecutionStatusSchema,
  MAX_HISTORY_OFFSET,
  TriggerRequestSchema,
  type TriggerResponse,
  TriggerResponseSchema,
} from '../domain/execution.js';
import {
  EntityTypeSchema,
  ExecutorTypeSchema,
  type Job,
  JobCreateSchema,
  JobListResponseSchema,
  JobPatchSchema,
  JobSchema,
  PlanningModeSchema,
  TriggerTypeSchema,
} from '../domain/job.js';
import { JsonObjectSchema } from '../domain/json.js';
import { DEFAULT_RUN_SETTINGS, RunConfigSchema } from '../domain/run-config.js';
import { DEFAULT_TOLERANCE_SECONDS, signStandardWebhook } from '../domain/signature.js';
import { MAX_BODY_BYTES } from './request.js';
import { errorResponse } from './responses.js';

/*
 * The OpenAPI 3.1 document of the whole HTTP API: the control plane (the API function) and signed
 * webhook deliveries (the webhook function), plus, under `webhooks`, the execution request the service
 * sends to `http` targets. Component schemas are converted from the zod schemas the handlers validate
 * with; paths, parameters and examples are written here. `test/unit/openapi.test.ts` checks the document
 * against the route table, the OpenAPI schema, real responses of the handler and a real request to a target.
 */

/** A JSON Schema (2020-12, the native dialect of OpenAPI 3.1). */
export type JsonSchema = Record<string, unknown>;

export interface Reference {
  $ref: string;
  /** OpenAPI 3.1 lets a reference override the description of what it points to. */
  description?: string;
}

export interface Example {
  summary: string;
  value: unknown;
}

export interface MediaType {
  schema: JsonSchema;
  examples: Record<string, Example>;
}

export interface Header {
  description: string;
  required?: boolean;
  schema: JsonSchema;
  example?: unknown;
}

export interface Parameter extends Header {
  name: string;
  in: 'path' | 'query' | 'header';
}

export interface Response {
  description: string;
  headers?: Record<string, Header>;
  content?: Record<string, MediaType>;
}

export interface RequestBody {
  description: string;
  required: boolean;
  content: Record<string, MediaType>;
}

export interface Operation {
  operationId: string;
  /** The SDK method that calls this operation (`jobs.get` for `client.jobs.get`), where there is one. */
  'x-sdk-method'?: string;
  tags: string[];
  summary: string;
  description: string;
  /** Absent: the document's default (the API key); empty: no authentication. */
  security?: Record<string, string[]>[];
  parameters?: (Parameter | Reference)[];
  requestBody?: RequestBody;
  responses: Record<string, Response | Reference>;
}

export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';
export type PathItem = Partial<Record<HttpMethod, Operation>>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: {
    title: string;
    version: string;
    description: string;
    license: { name: string; identifier: string };
  };
  servers: { url: string; description: string }[];
  tags: { name: string; description: string }[];
  security: Record<string, string[]>[];
  paths: Record<string, PathItem>;
  /** Requests the service itself sends (OpenAPI 3.1): the execution request to `http` targets. */
  webhooks: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, Parameter>;
    responses: Record<string, Response>;
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; description: string }>;
  };
}

/** The version of the API the document describes; follows the package version. */
export const API_VERSION = '0.1.0';

// ── Wire shapes that have no zod schema of their own elsewhere ──────────────────────────────────────

const ErrorDetailSchema = z.object({
  path: z.string(),
  message: z.string(),
  code: z.string().optional(),
});

const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.array(ErrorDetailSchema) }),
});

const HealthSchema = z.object({ status: z.literal('ok') });

const EntityWithSecretSchema = EntitySchema.extend({ signing_secret: z.string().optional() });

const EntityListResponseSchema = z.object({
  entities: z.array(EntitySchema),
  next_cursor: z.string().nullable(),
});

const WebhookSecretRotationSchema = z.object({
  webhook_secret: z.string(),
  webhook_secret_rotated_at: z.string(),
  previous_secret_valid_until: z.string().nullable(),
});

const SchedulePreviewSchema = z.object({
  expression: z.string(),
  timezone: z.string(),
  schedule_expression: z.array(z.string()),
  fires: z.array(z.object({ local: z.string(), utc: z.string(), repeated_local_time: z.boolean() })),
  skipped: z.array(z.object({ local: z.string(), reason: z.literal('nonexistent_local_time') })),
});

// ── Component schemas ───────────────────────────────────────────────────────────────────────────────

/** Every named schema, in document order: name, zod schema, description. */
const COMPONENTS = [
  ['JsonObject', JsonObjectSchema, 'Any JSON object (finite numbers, nested at most 32 deep).'],
  [
    'RunConfig',
    RunConfigSchema,
    "A job's `config` (and a trigger's `config_override`): the keys the service reads are checked; any other key passes through to the target untouched.",
  ],
  ['TriggerType', TriggerTypeSchema, 'What starts runs of a job.'],
  ['PlanningMode', PlanningModeSchema, 'How a run is planned.'],
  ['EntityType', EntityTypeSchema, 'The kind of entity a run goes to.'],
  ['ExecutorType', ExecutorTypeSchema, "Which queue a job's runs go to."],
  [
    'ExecutionStatus',
    ExecutionStatusSchema,
    'queued → running → succeeded | failed | timed_out | cancelled, or skipped.',
  ],
  ['Job', JobSchema, 'A job as the API returns it. Clients should ignore fields they do not know.'],
  [
    'JobCreate',
    JobCreateSchema,
    'Body of `POST /jobs`: `name`, `trigger_type` and `prompt_template` are required, the rest has defaults.',
  ],
  [
    'JobPatch',
    JobPatchSchema,
    'Body of `PATCH /jobs/{id}`: any subset of the fields; `null` clears an optional one.',
  ],
  ['JobList', JobListResponseSchema, 'A page of jobs, newest first; `next_cursor` is null on the last page.'],
  [
    'TriggerRequest',
    TriggerRequestSchema,
    'Body of `POST /jobs/{id}/trigger`; an empty body is a trigger without parameters.',
  ],
  [
    'TriggerResponse',
    TriggerResponseSchema,
    'The run a trigger or a webhook delivery started (or, repeated, the first one).',
  ],
  ['Execution', ExecutionSchema, 'One run of a job.'],
  ['ExecutionList', ExecutionListResponseSchema, 'A page of executions, newest first.'],
  ['CallbackRequest', CallbackRequestSchema, 'The result a target reports for a run it accepted with 202.'],
  [
    'ExecutionRequest',
    ExecutionRequestSchema,
    'What a target receives for each attempt of a run: the signed body POSTed to an `http` target (see the `executionRequest` webhook), the payload of a `lambda` target. Targets should ignore fields they do not know.',
  ],
  [
    'EntityTarget',
    EntityTargetSchema,
    'How runs reach the entity: an HTTP endpoint, a Lambda function, or the built-in echo.',
  ],
  ['Entity', EntitySchema, 'An agent, team or workflow that runs are sent to.'],
  [
    'EntityWithSecret',
    EntityWithSecretSchema,
    'An entity as created or updated; `signing_secret` is present only in the answer that created the http target’s secret.',
  ],
  ['EntityCreate', EntityCreateSchema, 'Body of `POST /entities`.'],
  [
    'EntityPatch',
    EntityPatchSchema,
    'Body of `PATCH /entities/{id}`: `id` and `type` are fixed at creation.',
  ],
  ['EntityList', EntityListResponseSchema, 'A page of entities, newest first.'],
  ['WebhookSecretRotateRequest', WebhookSecretRotateRequestSchema, 'Body of the rotate call; may be empty.'],
  ['WebhookSecretRotation', WebhookSecretRotationSchema, 'The new webhook secret, shown this once.'],
  [
    'WebhookDelivery',
    WebhookDeliverySchema,
    'A delivery body. These keys are read; other keys (a Git host’s own payload) are ignored, so senders can post straight to the URL.',
  ],
  [
    'SchedulePreview',
    SchedulePreviewSchema,
    'The next fire times of a cron expression in a timezone and in UTC.',
  ],
  ['Health', HealthSchema, 'The service is up.'],
  ['ErrorDetail', ErrorDetailSchema, 'One problem with one field of a request.'],
  ['Error', ErrorSchema, 'Every error answer has this shape.'],
] as const satisfies readonly (readonly [string, z.ZodType, string])[];

type ComponentName = (typeof COMPONENTS)[number][0];

const schemaRef = (name: ComponentName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/**
 * Descriptions of fields, by component; every entry must name a property its component has (a dotted
 * name, such as `callback.url`, names a property of a nested object).
 */
const FIELD_DOCS: Partial<Record<ComponentName, Record<string, string>>> = {
  Job: {
    id: 'The job id: `job_` and a UUID.',
    trigger_type: 'What starts runs: a cron schedule, signed webhook deliveries, or manual triggers only.',
    cron_schedule:
      'Cron jobs: a 5-field cron expression (minute hour day-of-month month day-of-week) in `cron_timezone`; null otherwise.',
    cron_timezone: 'IANA timezone of `cron_schedule`, such as `UTC` or `America/New_York`. Default `UTC`.',
    planning_mode:
      'Default `on_the_fly`. `predefined_agent` and `predefined_team` need `entity_type` and `entity_id` of that type; `predefined_workflow` may name a workflow.',
    entity_type:
      'Type of the entity runs go to; with `entity_id`, or both null for the deployment default entity.',
    entity_id: 'The entity runs go to; null for the deployment default entity.',
    prompt_template:
      'The prompt; `{{ name }}` placeholders (dotted paths allowed) are filled from the trigger’s `parameters`.',
    executor_type:
      'Default `auto` (the default queue); `specific_queue` uses `worker_queue_name`, `environment` the queue of `environment_name`.',
    worker_queue_name:
      'With `executor_type: specific_queue`: the worker queue; must be one the deployment declares.',
    environment_name:
      'With `executor_type: environment`: the environment; must be one the deployment declares.',
    config: 'Run settings; see RunConfig. Default `{}`.',
    execution_environment: 'A JSON object kept with the job as given. Default `{}`.',
    enabled: 'A disabled job does not fire and refuses triggers and deliveries (409). Default true.',
    created_at: 'ISO 8601, UTC.',
    updated_at: 'ISO 8601, UTC.',
    webhook_path: 'Webhook jobs: the unguessable last part of `webhook_url`.',
    webhook_url: 'Webhook jobs: where to POST deliveries, on the address the API was called on.',
    webhook_secret:
      'Webhook jobs: the signing secret (`whsec_…`), only in the answer that created it (create, or a switch to `webhook`).',
    webhook_secret_rotated_at: 'Webhook jobs, `GET /jobs/{id}` only: when the secret was last rotated.',
    webhook_last_secret_used:
      'Webhook jobs, `GET /jobs/{id}` only: which secret verified the latest delivery; retiring the old one is safe once it reads `current`.',
    next_run_at: 'Cron jobs: the next fire time (null while disabled).',
    schedule_expression:
      'Cron jobs: the EventBridge Scheduler expression(s) the schedule maps to (two when both day fields are restricted).',
  },
  Execution: {
    execution_id: 'The execution id: `exec_`, a time-ordered part and random hex.',
    workflow_id: 'The workflow id of the run (`wf_` and the execution id’s suffix).',
    parameters: 'The parameters the trigger gave.',
    prompt: 'The rendered prompt template.',
    config: 'The job’s config with the trigger’s `config_override` applied.',
    queue: 'The worker queue the run was sent to.',
    metadata: 'What the trigger recorded; webhook runs hold `webhook: {scheme, delivery_id, secret}`.',
    dedupe_key:
      'Webhook delivery id, idempotency key or cron fire time that made this run, when there is one.',
    scheduled_at: 'Cron runs: the fire time this run is for.',
    lateness_ms: 'Cron runs: how long after `scheduled_at` the run started, once it has.',
    attempt: 'The current attempt, from 1.',
    max_attempts: 'Attempts allowed by the run’s `retry.max_attempts`.',
    deadline_at: 'When the current attempt times out.',
    output: 'What the target returned (JSON), cut to 64 KiB.',
    output_truncated: 'True when `output` was cut.',
  },
  Entity: {
    id: 'The entity id: chosen at creation (1-128 letters, digits, `_`, `.`, `:` or `-`) or `ent_` and a UUID.',
    default: 'The deployment’s default entity, which jobs naming none run on; at most one is.',
  },
  EntityCreate: {
    id: 'Optional: a readable id; the service issues `ent_<uuid>` when absent.',
    default:
      'Make this the deployment’s default entity (the previous default stops being it). Default false.',
  },
  TriggerRequest: {
    parameters: 'Values for the prompt template’s placeholders; each placeholder needs one.',
    config_override: 'Changes to the job’s `config` for this run only (`retry` is merged key by key).',
  },
  ExecutionRequest: {
    execution_id:
      'The execution id, also sent as `webhook-id`. Every attempt of a run has the same one, so a target can make its work idempotent on it.',
    workflow_id: 'The workflow id of the run (`wf_` and the execution id’s suffix).',
    job_id: 'The job this is a run of.',
    job_name: 'The job’s name when the run was created.',
    entity: 'The entity the run was sent to.',
    'entity.type': '`agent`, `team` or `workflow`.',
    trigger_type: 'What started the run.',
    prompt: 'The job’s prompt template rendered with `parameters`.',
    system_prompt: 'The job’s system prompt, or null.',
    parameters: 'The parameters the trigger gave; `{}` when it gave none.',
    config:
      'The job’s config with the trigger’s `config_override` applied; keys the service does not read pass through untouched.',
    metadata: 'What the trigger recorded; webhook runs hold `webhook: {scheme, delivery_id, secret}`.',
    environment:
      'With `executor_type: environment`: the deployment environment and its variables; null otherwise.',
    attempt: 'This attempt’s number, from 1. A retry sends the request again with the next number.',
    deadline_at:
      'When the run times out: its `config.timeout` (default 3600 s) after the first attempt started. The same for every attempt; an accepted run must call back before it.',
    callback:
      'Where a target that answered 202 reports the result: `POST` a CallbackRequest to `url` with `Authorization: Bearer <token>`.',
    'callback.url': 'The run’s `/executions/{id}/callback` on the service’s public address.',
    'callback.token':
      'A secret: it finishes the run. Valid for this attempt only; a retry sends a new one. Do not log it.',
  },
  CallbackRequest: {
    output: 'The result, any JSON; cut to 64 KiB.',
    error_message: 'With `failed`: why (at most 4000 characters).',
  },
  WebhookSecretRotateRequest: {
    grace_seconds: 'How long the previous secret still verifies deliveries, at most a week. Default 86400.',
  },
  WebhookSecretRotation: {
    previous_secret_valid_until:
      'Until when the previous secret still verifies; null with `grace_seconds: 0`.',
  },
  SchedulePreview: {
    schedule_expression: 'The EventBridge Scheduler expression(s) the schedule maps to.',
    fires:
      'The next fires: `local` wall-clock time in the zone (`YYYY-MM-DDTHH:mm`), `utc` instant, and whether the local time happened twice (clocks fell back; it fires at the first).',
    skipped: 'Local times the expression names that the zone skips (clocks sprang forward): no fire then.',
  },
  ErrorDetail: {
    path: 'Dotted path of the field (`config.retry.max_attempts`, a query parameter or header name); empty for the request as a whole.',
    code: 'Machine-readable: `required`, `unknown_field`, `invalid`, `invalid_cron`, `unknown_entity`, `missing_parameter`, zod issue codes such as `too_big`, …',
  },
};

/** The component schemas, converted from zod in input mode (what a client sends, and may rely on receiving). */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string; description: string }>();
  for (const [id, schema, description] of COMPONENTS) registry.add(schema, { id, description });
  // Input mode leaves response objects open (no `additionalProperties: false`), so a client built from
  // the document keeps working when fields are added; strict request bodies stay closed either way.
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    metadata: registry,
    unrepresentable: 'throw',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ zodSchema, jsonSchema }) => {
      // A refinement of z.unknown(), which JSON Schema cannot see through.
      if ((zodSchema as unknown) === JsonObjectSchema) jsonSchema.type = 'object';
    },
  });
  if ('__shared' in schemas) {
    throw new Error('zod extracted shared $defs: add the schema they come from to COMPONENTS.');
  }
  const out: Record<string, JsonSchema> = {};
  for (const [name] of COMPONENTS) {
    // Each schema comes as a standalone document; in `components` it is not one.
    const { $schema: _dialect, $id: _id, ...schema } = schemas[name] as JsonSchema;
    if (JSON.stringify(schema).includes('"$defs"')) {
      throw new Error(`Component ${name} has $defs: add the shared or recursive schema to COMPONENTS.`);
    }
    useRunConfig(schema);
    out[name] = schema;
  }
  describeFields(out);
  return out;
}

/** `config` and `config_override` are JSON objects whose service-read keys follow RunConfig. */
function useRunConfig(schema: JsonSchema): void {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const jsonObject = JSON.stringify(schemaRef('JsonObject'));
  for (const key of ['config', 'config_override']) {
    const property = properties?.[key];
    if (property === undefined) continue;
    const text = JSON.stringify(property).replace(jsonObject, JSON.stringify(schemaRef('RunConfig')));
    (properties as Record<string, JsonSchema>)[key] = JSON.parse(text) as JsonSchema;
  }
}

function describeFields(schemas: Record<string, JsonSchema>): void {
  for (const [component, fields] of Object.entries(FIELD_DOCS)) {
    for (const [field, description] of Object.entries(fields)) {
      let property: JsonSchema | undefined = schemas[component];
      for (const name of field.split('.')) {
        property = (property?.properties as Record<string, JsonSchema> | undefined)?.[name];
      }
      if (!property)
        throw new Error(`FIELD_DOCS names ${component}.${field}, which the schema does not have.`);
      property.description = description;
    }
  }
  // The same fields mean the same in the request bodies.
  for (const component of ['JobCreate', 'JobPatch'] as const) {
    const properties = schemas[component]?.properties as Record<string, JsonSchema>;
    for (const [field, property] of Object.entries(properties)) {
      const description = FIELD_DOCS.Job?.[field];
      if (description !== undefined && property.description === undefined) property.description = description;
    }
  }
}

// ── Examples ────────────────────────────────────────────────────────────────────────────────────────

const JOB_ID = 'job_3f6c1a52-8a4e-4b8e-9d0e-2c7b5e1f4a90';
const WEBHOOK_JOB_ID = 'job_9b2d4e61-0c3a-4f7e-8a15-6d2c9e0b7f34';
const MANUAL_JOB_ID = 'job_5e8a7c30-2b1d-4c9f-a6e4-0f3b8d2c1a57';
const EXECUTION_ID = 'exec_0m5xy3k0w4f1d2c3b4a5968778695';
const WORKFLOW_ID = 'wf_0m5xy3k0w4f1d2c3b4a5968778695';
const WEBHOOK_PATH = 'kJ3xQ9vR2mT8wZ5yB1nC7dF4gH6jL0pS';
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw9MiCAZ0yJCY=';
const CURSOR = 'eyJhZnRlciI6IjIwMjUtMDEtMTVUMDk6MDA6MDAuMDAwWiNqb2JfM2Y2YzFhNTIifQ';

/** Bodies from the reference: a cron, a webhook and a manual job. */
const NIGHTLY_BACKUP = {
  name: 'Nightly Backup',
  description: 'Backup production database',
  trigger_type: 'cron',
  cron_schedule: '0 2 * * *',
  cron_timezone: 'America/New_York',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'backup-agent-uuid',
  prompt_template: 'Perform full database backup',
  executor_type: 'specific_queue',
  worker_queue_name: 'production',
  enabled: true,
};

const DEPLOY_ON_PUSH = {
  name: 'Deploy on Push',
  description: 'Deploy application when code is pushed',
  trigger_type: 'webhook',
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'deployment-team-uuid',
  prompt_template: 'Deploy branch {{ branch_name }} to {{ environment }}',
  executor_type: 'environment',
  environment_name: 'production',
  enabled: true,
};

const EMERGENCY_ROLLBACK = {
  name: 'Emergency Rollback',
  description: 'Rollback to previous version',
  trigger_type: 'manual',
  planning_mode: 'predefined_workflow',
  prompt_template: 'Rollback service {{ service_name }} to version {{ version }}',
  executor_type: 'auto',
  config: { timeout: 900, retry: { max_attempts: 3, backoff_seconds: 30 } },
  enabled: true,
};

const CREATED_AT = '2025-01-15T09:00:00.000Z';

/** The fields every job answer has, with the defaults a create fills in. */
function jobAnswer(id: string, body: Record<string, unknown>): Job {
  return {
    id,
    description: null,
    cron_schedule: null,
    cron_timezone: 'UTC',
    planning_mode: 'on_the_fly',
    entity_type: null,
    entity_id: null,
    system_prompt: null,
    executor_type: 'auto',
    worker_queue_name: null,
    environment_name: null,
    config: {},
    execution_environment: {},
    enabled: true,
    ...(body as Pick<Job, 'name' | 'trigger_type' | 'prompt_template'>),
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    webhook_path: null,
    webhook_url: null,
  };
}

const CRON_JOB: Job = {
  ...jobAnswer(JOB_ID, NIGHTLY_BACKUP),
  next_run_at: '2025-01-16T07:00:00.000Z',
  schedule_expression: ['cron(0 2 * * ? *)'],
};

const WEBHOOK_JOB: Job = {
  ...jobAnswer(WEBHOOK_JOB_ID, DEPLOY_ON_PUSH),
  webhook_path: WEBHOOK_PATH,
  webhook_url: `https://jobs.example.com/webhooks/${WEBHOOK_PATH}`,
};

const MANUAL_JOB: Job = jobAnswer(MANUAL_JOB_ID, EMERGENCY_ROLLBACK);

const EXECUTION: Execution = {
  execution_id: EXECUTION_ID,
  workflow_id: WORKFLOW_ID,
  job_id: JOB_ID,
  job_name: 'Nightly Backup',
  status: 'succeeded',
  trigger_type: 'cron',
  parameters: {},
  prompt: 'Perform full database backup',
  system_prompt: null,
  config: {},
  entity_id: 'backup-agent-uuid',
  entity_type: 'agent',
  queue: 'production',
  environment_name: null,
  metadata: {},
  dedupe_key: 'cron:2025-01-15T07:00:00.000Z',
  scheduled_at: '2025-01-15T07:00:00.000Z',
  lateness_ms: 840,
  attempt: 1,
  max_attempts: 1,
  created_at: '2025-01-15T07:00:00.412Z',
  started_at: '2025-01-15T07:00:00.840Z',
  finished_at: '2025-01-15T07:03:12.095Z',
  duration_ms: 191255,
  deadline_at: '2025-01-15T08:00:00.840Z',
  error_message: null,
  output: { backup: 's3://backups/prod/2025-01-15.dump', size_bytes: 48213770 },
  output_truncated: false,
};

const TRIGGERED: TriggerResponse = { workflow_id: WORKFLOW_ID, execution_id: EXECUTION_ID, status: 'queued' };

const HTTP_ENTITY = {
  id: 'support-agent',
  type: 'agent',
  name: 'Support agent',
  description: 'Answers support tickets',
  target: { type: 'http', url: 'https://agents.example.com/support', timeout_seconds: 60 },
  default: false,
  created_at: CREATED_AT,
  updated_at: CREATED_AT,
};

const LAMBDA_ENTITY = {
  id: 'backup-agent-uuid',
  type: 'agent',
  name: 'Backup agent',
  description: null,
  target: { type: 'lambda', function_name: 'backup-agent:live' },
  default: false,
  created_at: CREATED_AT,
  updated_at: CREATED_AT,
};

/** The body the service answers with for `error`, so the examples show exactly what it sends. */
function errorBody(error: unknown): unknown {
  return JSON.parse(errorResponse(error).body as string);
}

const example = (summary: string, value: unknown): Example => ({ summary, value });

function json(schema: JsonSchema, examples: Record<string, Example>): Record<string, MediaType> {
  return { 'application/json': { schema, examples } };
}

function ok(description: string, schema: ComponentName, examples: Record<string, Example>): Response {
  return { description, content: json(schemaRef(schema), examples) };
}

// ── Errors ──────────────────────────────────────────────────────────────────────────────────────────

type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 500;

const ERROR_RESPONSES: Record<ErrorStatus, [name: string, Response]> = {
  400: [
    'BadRequest',
    {
      description:
        'The body is not UTF-8 JSON (`malformed_json`) or not a JSON object (`invalid_body`), or `cursor` was not issued by this service (`invalid_cursor`).',
      content: json(schemaRef('Error'), {
        malformed_json: example(
          'Not JSON',
          errorBody(new BadRequestError('The request body is not valid UTF-8 JSON.', 'malformed_json')),
        ),
        invalid_cursor: example(
          'A cursor this service did not issue',
          errorBody(
            new BadRequestError(
              'cursor is not a cursor this service issued; pass next_cursor as returned.',
              'invalid_cursor',
              [{ path: 'cursor', message: 'is not a cursor this service issued', code: 'invalid_cursor' }],
            ),
          ),
        ),
      }),
    },
  ],
  401: [
    'Unauthorized',
    {
      description: 'No API key, or not a valid one.',
      headers: {
        'WWW-Authenticate': { description: 'Always `Bearer`.', schema: { type: 'string', const: 'Bearer' } },
      },
      content: json(schemaRef('Error'), {
        unauthorized: example('No valid API key', errorBody(new UnauthorizedError())),
      }),
    },
  ],
  404: [
    'NotFound',
    {
      description: 'Nothing with this id.',
      content: json(schemaRef('Error'), {
        not_found: example('An unknown job', errorBody(new NotFoundError(`No job with id "${JOB_ID}".`))),
      }),
    },
  ],
  409: [
    'Conflict',
    {
      description: 'The request conflicts with the current state.',
      content: json(schemaRef('Error'), {
        conflict: example(
          'A disabled job',
          errorBody(new ConflictError(`Job ${JOB_ID} is disabled; enable it before triggering it.`)),
        ),
      }),
    },
  ],
  413: [
    'PayloadTooLarge',
    {
      description: `The body is larger than ${MAX_BODY_BYTES} bytes.`,
      content: json(schemaRef('Error'), {
        payload_too_large: example('Too large', errorBody(new PayloadTooLargeError(MAX_BODY_BYTES))),
      }),
    },
  ],
  415: [
    'UnsupportedMediaType',
    {
      description:
        'A body whose `Content-Type` is not JSON (`application/json`, or a `+json` type), or a body without one.',
      content: json(schemaRef('Error'), {
        unsupported_media_type: example(
          'Sent as text/plain',
          errorBody(
            new UnsupportedMediaTypeError('The request body must be sent as application/json.', [
              { path: 'Content-Type', message: 'must be application/json', code: 'unsupported_media_type' },
            ]),
          ),
        ),
      }),
    },
  ],
  422: [
    'ValidationFailed',
    {
      description: 'The request is well-formed but invalid; `details` names every bad field.',
      content: json(schemaRef('Error'), {
        validation_failed: example(
          'A cron job without a schedule and an unknown field',
          errorBody(
            new ValidationError([
              { path: 'cron_schedule', message: 'is required when trigger_type is "cron"', code: 'required' },
              { path: 'colour', message: 'is not a known field', code: 'unknown_field' },
            ]),
          ),
        ),
      }),
    },
  ],
  429: [
    'RateLimited',
    {
      description: "More deliveries than the job's `config.webhook_rate_limit` allows.",
      headers: {
        'Retry-After': {
          description: 'Seconds to wait before delivering again.',
          schema: { type: 'integer', minimum: 1 },
          example: 2,
        },
      },
      content: json(schemaRef('Error'), {
        rate_limited: example('Over the limit', errorBody(new RateLimitedError(2))),
      }),
    },
  ],
  500: [
    'InternalError',
    {
      description: 'An unexpected failure; the details are logged, never returned.',
      content: json(schemaRef('Error'), {
        internal_error: example('Anything unexpected', errorBody(new Error('anything'))),
      }),
    },
  ],
};

/** The shared error answer for `status`, with what it means on this route when that says more. */
function error(status: ErrorStatus, description?: string): Record<string, Reference> {
  const [name] = ERROR_RESPONSES[status];
  return {
    [status]: { $ref: `#/components/responses/${name}`, ...(description !== undefined && { description }) },
  };
}

/** An error answer particular to one route, in the shared shape. */
function ownError(description: string, errorExample: Example, headers?: Record<string, Header>): Response {
  return {
    description,
    ...(headers && { headers }),
    content: json(schemaRef('Error'), {
      [String((errorExample.value as { error: { code: string } }).error.code)]: errorExample,
    }),
  };
}

// ── Parameters ──────────────────────────────────────────────────────────────────────────────────────

const PARAMETERS: Record<string, Parameter> = {
  JobId: {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The job id (`job_<uuid>`).',
    schema: { type: 'string' },
    example: JOB_ID,
  },
  ExecutionId: {
    name: 'eid',
    in: 'path',
    required: true,
    description: 'The execution id.',
    schema: { type: 'string' },
    example: EXECUTION_ID,
  },
  EntityId: {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The entity id.',
    schema: { type: 'string' },
    example: 'support-agent',
  },
  Limit: {
    name: 'limit',
    in: 'query',
    description: 'Page size.',
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
    example: 20,
  },
  Cursor: {
    name: 'cursor',
    in: 'query',
    description: '`next_cursor` of the previous page. A page may be short, or empty, and still have one.',
    schema: { type: 'string' },
    example: CURSOR,
  },
};

const param = (name: keyof typeof PARAMETERS): Reference => ({ $ref: `#/components/parameters/${name}` });

const NO_AUTH: Record<string, string[]>[] = [];

const LOCATION = (example: string): Record<string, Header> => ({
  Location: { description: 'The path of the new resource.', schema: { type: 'string' }, example },
});

// ── Paths ───────────────────────────────────────────────────────────────────────────────────────────

function paths(): Record<string, PathItem> {
  return {
    '/health': {
      get: {
        operationId: 'getHealth',
        'x-sdk-method': 'health',
        tags: ['Service'],
        summary: 'Liveness',
        description: 'Answers 200 while the API function runs. No authentication.',
        security: NO_AUTH,
        responses: {
          200: ok('The service is up.', 'Health', { ok: example('Up', { status: 'ok' }) }),
          ...error(500),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        tags: ['Service'],
        summary: 'This document',
        description:
          'The OpenAPI 3.1 document of the API. Served without authentication: it is documentation and holds nothing of the deployment (the server URL is relative to where it was fetched from).',
        security: NO_AUTH,
        responses: {
          200: {
            description: 'The OpenAPI document.',
            content: json(
              {
                type: 'object',
                required: ['openapi', 'info', 'paths'],
                properties: {
                  openapi: { const: '3.1.0' },
                  info: { type: 'object' },
                  paths: { type: 'object' },
                },
              },
              {
                document: example('The start of it', {
                  openapi: '3.1.0',
                  info: { title: 'Serverless Jobs API' },
                  paths: {},
                }),
              },
            ),
          },
          ...error(500),
        },
      },
    },
    '/jobs': {
      get: {
        operationId: 'listJobs',
        'x-sdk-method': 'jobs.listPage',
        tags: ['Jobs'],
        summary: 'List jobs',
        description:
          'One page of jobs, newest first. Pass `next_cursor` back as `cursor` for the next page; it is null on the last.',
        parameters: [
          {
            name: 'enabled',
            in: 'query',
            description:
              'Only enabled (`true`) or disabled (`false`) jobs; `True` and `False` are accepted too.',
            schema: { type: 'string', enum: ['true', 'false', 'True', 'False'] },
            example: 'true',
          },
          {
            name: 'trigger_type',
            in: 'query',
            description: 'Only jobs with this trigger.',
            schema: schemaRef('TriggerType'),
            example: 'cron',
          },
          param('Limit'),
          param('Cursor'),
        ],
        responses: {
          200: ok('A page of jobs.', 'JobList', {
            page: example('The last page', { jobs: [CRON_JOB, WEBHOOK_JOB, MANUAL_JOB], next_cursor: null }),
          }),
          ...error(400, '`cursor` was not issued by this service.'),
          ...error(401),
          ...error(422, 'An unknown, repeated or invalid query parameter.'),
          ...error(500),
        },
      },
      post: {
        operationId: 'createJob',
        'x-sdk-method': 'jobs.create',
        tags: ['Jobs'],
        summary: 'Create a job',
        description:
          'Creates a job. A cron job is scheduled at once (see `next_run_at`); a webhook job gets its `webhook_url` and `webhook_secret`, the secret shown in this answer only.',
        requestBody: {
          description: 'The job.',
          required: true,
          content: json(schemaRef('JobCreate'), {
            cron: example('A cron job', NIGHTLY_BACKUP),
            webhook: example('A webhook job', DEPLOY_ON_PUSH),
            manual: example('A manual job on the default entity', EMERGENCY_ROLLBACK),
          }),
        },
        responses: {
          201: {
            description: 'The job as created.',
            headers: LOCATION(`/jobs/${JOB_ID}`),
            content: json(schemaRef('Job'), {
              cron: example('A cron job', CRON_JOB),
              webhook: example('A webhook job, with its secret', {
                ...WEBHOOK_JOB,
                webhook_secret: WEBHOOK_SECRET,
              }),
            }),
          },
          ...error(400),
          ...error(401),
          ...error(409, 'A concurrent change got in the way; try again.'),
          ...error(413),
          ...error(415),
          ...error(
            422,
            'An invalid field or combination of fields, an entity that does not exist, or no default entity for a job that names none.',
          ),
          ...error(500),
        },
      },
    },
    '/jobs/{id}': {
      get: {
        operationId: 'getJob',
        'x-sdk-method': 'jobs.get',
        tags: ['Jobs'],
        summary: 'Get a job',
        description:
          'One job. A webhook job also shows when its secret was rotated and which secret verified the latest delivery.',
        parameters: [param('JobId')],
        responses: {
          200: ok('The job.', 'Job', {
            cron: example('A cron job', CRON_JOB),
            webhook: example('A webhook job', {
              ...WEBHOOK_JOB,
              webhook_secret_rotated_at: null,
              webhook_last_secret_used: 'current',
            }),
          }),
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(500),
        },
      },
      patch: {
        operationId: 'updateJob',
        'x-sdk-method': 'jobs.update',
        tags: ['Jobs'],
        summary: 'Update a job',
        description:
          'Changes the given fields; `null` clears an optional one. Changing `trigger_type` or `executor_type` clears the field it governed unless the same request sets it. A switch to `webhook` creates the webhook secret, shown in this answer only.',
        parameters: [param('JobId')],
        requestBody: {
          description: 'The fields to change.',
          required: true,
          content: json(schemaRef('JobPatch'), {
            reschedule: example('Move the schedule and pause', {
              cron_schedule: '30 3 * * *',
              enabled: false,
            }),
          }),
        },
        responses: {
          200: ok('The job as updated.', 'Job', {
            updated: example('Rescheduled and paused', {
              ...CRON_JOB,
              cron_schedule: '30 3 * * *',
              enabled: false,
              updated_at: '2025-01-15T10:00:00.000Z',
              next_run_at: null,
              schedule_expression: ['cron(30 3 * * ? *)'],
            }),
          }),
          ...error(400),
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(409, 'Other requests kept changing the job; try again.'),
          ...error(413),
          ...error(415),
          ...error(422, 'The job as changed would be invalid.'),
          ...error(500),
        },
      },
      delete: {
        operationId: 'deleteJob',
        'x-sdk-method': 'jobs.delete',
        tags: ['Jobs'],
        summary: 'Delete a job',
        description: 'Deletes the job and its schedule. Its executions stay readable until they expire.',
        parameters: [param('JobId')],
        responses: {
          204: { description: 'Deleted.' },
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(409, 'Other requests kept changing the job; try again.'),
          ...error(500),
        },
      },
    },
    '/jobs/{id}/webhook-secret/rotate': {
      post: {
        operationId: 'rotateWebhookSecret',
        'x-sdk-method': 'jobs.rotateWebhookSecret',
        tags: ['Webhooks'],
        summary: 'Rotate a webhook secret',
        description:
          'Issues a new signing secret for a webhook job, shown in this answer only. The previous secret keeps verifying deliveries for `grace_seconds` (default a day), so senders can switch over.',
        parameters: [param('JobId')],
        requestBody: {
          description: 'Optional; an empty body keeps the default grace.',
          required: false,
          content: json(schemaRef('WebhookSecretRotateRequest'), {
            hour: example('Keep the old secret for an hour', { grace_seconds: 3600 }),
          }),
        },
        responses: {
          200: ok('The new secret.', 'WebhookSecretRotation', {
            rotated: example('Rotated with an hour of grace', {
              webhook_secret: 'whsec_3kP0e2yQm5Vb8sT1rW4uX7zA9cD6fG2hJ5kL8nQ1pR4=',
              webhook_secret_rotated_at: '2025-01-15T10:00:00.000Z',
              previous_secret_valid_until: '2025-01-15T11:00:00.000Z',
            }),
          }),
          ...error(400),
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(409, 'Not a webhook job, or another rotation got in first.'),
          ...error(413),
          ...error(415),
          ...error(422, 'An invalid `grace_seconds`.'),
          ...error(500),
        },
      },
    },
    '/jobs/{id}/enable': {
      post: {
        operationId: 'enableJob',
        'x-sdk-method': 'jobs.enable',
        tags: ['Jobs'],
        summary: 'Enable a job',
        description:
          'Enables the job (a cron job is scheduled again). Enabling an enabled job changes nothing. No body.',
        parameters: [param('JobId')],
        responses: {
          200: ok('The job.', 'Job', { enabled: example('Enabled', CRON_JOB) }),
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(409, 'Other requests kept changing the job; try again.'),
          ...error(413),
          ...error(422, 'The entity the job names no longer exists.'),
          ...error(500),
        },
      },
    },
    '/jobs/{id}/disable': {
      post: {
        operationId: 'disableJob',
        'x-sdk-method': 'jobs.disable',
        tags: ['Jobs'],
        summary: 'Disable a job',
        description:
          'Disables the job: it stops firing, and triggers and deliveries are refused. Runs already started go on. No body.',
        parameters: [param('JobId')],
        responses: {
          200: ok('The job.', 'Job', {
            disabled: example('Disabled', { ...CRON_JOB, enabled: false, next_run_at: null }),
          }),
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(409, 'Other requests kept changing the job; try again.'),
          ...error(413),
          ...error(422, 'The entity the job names no longer exists.'),
          ...error(500),
        },
      },
    },
    '/jobs/{id}/trigger': {
      post: {
        operationId: 'triggerJob',
        'x-sdk-method': 'jobs.trigger',
        tags: ['Jobs'],
        summary: 'Run a job now',
        description:
          'Starts a run: the prompt template is rendered with `parameters` and the run is queued. With an `Idempotency-Key`, repeating the request returns the first run instead of starting another.',
        parameters: [
          param('JobId'),
          {
            name: 'Idempotency-Key',
            in: 'header',
            description:
              'Makes the trigger idempotent: a repeat with the same key answers with the first run.',
            schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
            example: 'rollback-checkout-2025-01-15',
          },
        ],
        requestBody: {
          description: 'Optional; an empty body is a trigger without parameters.',
          required: false,
          content: json(schemaRef('TriggerRequest'), {
            rollback: example('Parameters and a longer timeout', {
              parameters: { service_name: 'checkout', version: '1.4.2' },
              config_override: { timeout: 1800 },
            }),
          }),
        },
        responses: {
          202: ok('The run, queued (or `skipped` by `overlap_policy: skip`).', 'TriggerResponse', {
            queued: example('Queued', TRIGGERED),
          }),
          ...error(400),
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(409, 'The job is disabled, or its entity or environment is no longer there.'),
          ...error(413),
          ...error(415),
          ...error(
            422,
            'An invalid body or `Idempotency-Key`, a parameter the template needs is missing, or the run would be too large.',
          ),
          ...error(500),
        },
      },
    },
    '/jobs/{id}/executions': {
      get: {
        operationId: 'getExecutions',
        'x-sdk-method': 'jobs.getExecutions',
        tags: ['Executions'],
        summary: 'List executions of a job',
        description: `The job's runs, newest first, with their total count. Page with \`offset\` (up to ${MAX_HISTORY_OFFSET}) or, deeper, with \`cursor\`; an offset is skipped reading keys only.`,
        parameters: [
          param('JobId'),
          param('Limit'),
          {
            name: 'offset',
            in: 'query',
            description: `Runs to skip, at most ${MAX_HISTORY_OFFSET}; past that a 422 says to page with \`cursor\`.`,
            schema: { type: 'integer', minimum: 0, maximum: MAX_HISTORY_OFFSET, default: 0 },
            example: 0,
          },
          param('Cursor'),
        ],
        responses: {
          200: ok('A page of executions.', 'ExecutionList', {
            page: example('One run', { total_count: 1, executions: [EXECUTION], next_cursor: null }),
          }),
          ...error(400, '`cursor` was not issued by this service.'),
          ...error(401),
          ...error(404, 'No job with this id.'),
          ...error(422, 'An unknown, repeated or invalid query parameter.'),
          ...error(500),
        },
      },
    },
    '/jobs/{id}/executions/{eid}': {
      get: {
        operationId: 'getExecution',
        'x-sdk-method': 'jobs.getExecution',
        tags: ['Executions'],
        summary: 'Get an execution',
        description: 'One run of the job.',
        parameters: [param('JobId'), param('ExecutionId')],
        responses: {
          200: ok('The execution.', 'Execution', { succeeded: example('A finished cron run', EXECUTION) }),
          ...error(401),
          ...error(404, 'No such job, or no such execution of it.'),
          ...error(500),
        },
      },
    },
    '/jobs/{id}/executions/{eid}/cancel': {
      post: {
        operationId: 'cancelExecution',
        'x-sdk-method': 'jobs.cancelExecution',
        tags: ['Executions'],
        summary: 'Cancel an execution',
        description:
          'A queued or running run ends as `cancelled`; a result arriving later is refused. No body.',
        parameters: [param('JobId'), param('ExecutionId')],
        responses: {
          200: ok('The execution, cancelled.', 'Execution', {
            cancelled: example('Cancelled while running', {
              ...EXECUTION,
              status: 'cancelled',
              finished_at: '2025-01-15T07:01:00.840Z',
              duration_ms: 60000,
              output: null,
            }),
          }),
          ...error(401),
          ...error(404, 'No such job, or no such execution of it.'),
          ...error(409, 'The run has already ended.'),
          ...error(413),
          ...error(500),
        },
      },
    },
    '/executions/{id}/callback': {
      post: {
        operationId: 'reportExecutionResult',
        'x-sdk-method': 'executions.callback',
        tags: ['Executions'],
        summary: 'Report the result of a run (targets)',
        description:
          "For a target that accepted a run with 202: finishes the run. Authenticated by the attempt's callback token (`callback.token` of the execution request), not an API key; the body is read only once the token holds.",
        security: [{ callbackToken: [] }],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'The execution id (`execution_id` of the execution request).',
            schema: { type: 'string' },
            example: EXECUTION_ID,
          },
        ],
        requestBody: {
          description: 'The result.',
          required: true,
          content: json(schemaRef('CallbackRequest'), {
            succeeded: example('Success with output', {
              status: 'succeeded',
              output: { summary: 'Backup done' },
            }),
            failed: example('Failure', { status: 'failed', error_message: 'Database unreachable' }),
          }),
        },
        responses: {
          200: ok('The execution, finished.', 'Execution', { finished: example('Finished', EXECUTION) }),
          ...error(400),
          401: ownError(
            'The token is missing or does not belong to this execution (an unknown execution answers the same).',
            example(
              'Wrong token',
              errorBody(
                new UnauthorizedError('The callback token is missing or does not belong to this execution.'),
              ),
            ),
          ),
          ...error(409, 'The run is no longer running (it ended, was cancelled, or timed out).'),
          ...error(413),
          ...error(415),
          ...error(422, 'An invalid result.'),
          ...error(500),
        },
      },
    },
    '/cron/preview': {
      get: {
        operationId: 'previewSchedule',
        'x-sdk-method': 'jobs.previewSchedule',
        tags: ['Schedules'],
        summary: 'Preview a cron schedule',
        description:
          'The next fire times of a cron expression in a timezone, as a cron job with that schedule would fire on EventBridge Scheduler: a local time skipped by a daylight-saving change does not fire; a repeated one fires once.',
        parameters: [
          {
            name: 'expression',
            in: 'query',
            required: true,
            description: 'A 5-field cron expression.',
            schema: { type: 'string' },
            example: '30 1 * * *',
          },
          {
            name: 'timezone',
            in: 'query',
            description: 'An IANA timezone.',
            schema: { type: 'string', default: 'UTC' },
            example: 'Europe/London',
          },
          {
            name: 'count',
            in: 'query',
            description: 'How many fire times.',
            schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
            example: 3,
          },
        ],
        responses: {
          200: ok('The next fire times.', 'SchedulePreview', {
            spring_forward: example(
              'Across the spring-forward night in London',
              previewSchedule(
                { expression: '30 1 * * *', timezone: 'Europe/London', count: '3' },
                new Date('2025-03-28T12:00:00.000Z'),
              ),
            ),
          }),
          ...error(401),
          ...error(422, 'A missing or invalid expression, an unknown timezone, or an invalid count.'),
          ...error(500),
        },
      },
    },
    '/entities': {
      get: {
        operationId: 'listEntities',
        'x-sdk-method': 'entities.listPage',
        tags: ['Entities'],
        summary: 'List entities',
        description: 'One page of entities, newest first.',
        parameters: [param('Limit'), param('Cursor')],
        responses: {
          200: ok('A page of entities.', 'EntityList', {
            page: example('The last page', { entities: [HTTP_ENTITY, LAMBDA_ENTITY], next_cursor: null }),
          }),
          ...error(400, '`cursor` was not issued by this service.'),
          ...error(401),
          ...error(422, 'An unknown, repeated or invalid query parameter.'),
          ...error(500),
        },
      },
      post: {
        operationId: 'createEntity',
        'x-sdk-method': 'entities.create',
        tags: ['Entities'],
        summary: 'Create an entity',
        description:
          'Creates an agent, team or workflow. An http target gets a signing secret for the requests the service sends it, shown in this answer only.',
        requestBody: {
          description: 'The entity.',
          required: true,
          content: json(schemaRef('EntityCreate'), {
            http: example('An agent behind HTTP', {
              id: 'support-agent',
              type: 'agent',
              name: 'Support agent',
              description: 'Answers support tickets',
              target: { type: 'http', url: 'https://agents.example.com/support', timeout_seconds: 60 },
            }),
            lambda: example('An agent in a Lambda function', {
              id: 'billing-agent',
              type: 'agent',
              name: 'Billing agent',
              target: { type: 'lambda', function_name: 'billing-agent:live' },
            }),
          }),
        },
        responses: {
          201: {
            description: 'The entity as created.',
            headers: LOCATION('/entities/support-agent'),
            content: json(schemaRef('EntityWithSecret'), {
              http: example('With its signing secret', {
                ...HTTP_ENTITY,
                signing_secret: 'whsec_q2Lm9XvB7c4T0ePz1KdR6yWn3HsJ8aFu5GiO2kQbV1E=',
              }),
            }),
          },
          ...error(400),
          ...error(401),
          ...error(409, 'An entity with this id exists.'),
          ...error(413),
          ...error(415),
          ...error(422, 'An invalid field.'),
          ...error(500),
        },
      },
    },
    '/entities/{id}': {
      get: {
        operationId: 'getEntity',
        'x-sdk-method': 'entities.get',
        tags: ['Entities'],
        summary: 'Get an entity',
        description: 'One entity.',
        parameters: [param('EntityId')],
        responses: {
          200: ok('The entity.', 'Entity', { http: example('An agent behind HTTP', HTTP_ENTITY) }),
          ...error(401),
          ...error(404, 'No entity with this id.'),
          ...error(500),
        },
      },
      patch: {
        operationId: 'updateEntity',
        'x-sdk-method': 'entities.update',
        tags: ['Entities'],
        summary: 'Update an entity',
        description:
          'Changes the given fields. A switch to an http target from another kind creates its signing secret, shown in this answer only.',
        parameters: [param('EntityId')],
        requestBody: {
          description: 'The fields to change.',
          required: true,
          content: json(schemaRef('EntityPatch'), {
            rename: example('A new name and timeout', {
              name: 'Support agent (v2)',
              target: { type: 'http', url: 'https://agents.example.com/support/v2', timeout_seconds: 120 },
            }),
          }),
        },
        responses: {
          200: ok('The entity as updated.', 'EntityWithSecret', {
            renamed: example('Renamed', {
              ...HTTP_ENTITY,
              name: 'Support agent (v2)',
              target: { type: 'http', url: 'https://agents.example.com/support/v2', timeout_seconds: 120 },
              updated_at: '2025-01-15T10:00:00.000Z',
            }),
          }),
          ...error(400),
          ...error(401),
          ...error(404, 'No entity with this id.'),
          ...error(409, 'Other requests kept changing the entity; try again.'),
          ...error(413),
          ...error(415),
          ...error(422, 'An invalid field, or `id` or `type`, which cannot change.'),
          ...error(500),
        },
      },
      delete: {
        operationId: 'deleteEntity',
        'x-sdk-method': 'entities.delete',
        tags: ['Entities'],
        summary: 'Delete an entity',
        description: 'Deletes an entity no job names.',
        parameters: [param('EntityId')],
        responses: {
          204: { description: 'Deleted.' },
          ...error(401),
          ...error(404, 'No entity with this id.'),
          ...error(409, 'A job names the entity; point it elsewhere or delete it first.'),
          ...error(500),
        },
      },
    },
    '/webhooks/{path}': {
      post: {
        operationId: 'triggerWebhook',
        'x-sdk-method': 'jobs.triggerWebhook',
        tags: ['Webhooks'],
        summary: 'Deliver a webhook',
        description:
          "Starts a run of the webhook job at this path. Served by the webhook function, not the API function, and authenticated by the signature alone (no API key), computed over the raw body bytes with the job's `webhook_secret`: either Standard Webhooks (`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature`), or an HMAC-SHA256 hex digest in `X-Webhook-Signature` or `X-Hub-Signature-256` (GitHub style). A delivery id (`webhook-id`, `X-GitHub-Delivery` or `X-Webhook-Id`) makes a redelivery answer with the first run.",
        security: NO_AUTH,
        parameters: [
          {
            name: 'path',
            in: 'path',
            required: true,
            description: 'The last part of the job’s `webhook_url`.',
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' },
            example: WEBHOOK_PATH,
          },
          {
            name: 'webhook-id',
            in: 'header',
            description: 'Standard Webhooks: the delivery id (at most 256 characters).',
            schema: { type: 'string', maxLength: 256 },
            example: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
          },
          {
            name: 'webhook-timestamp',
            in: 'header',
            description: 'Standard Webhooks: Unix seconds of the delivery; at most 5 minutes from now.',
            schema: { type: 'string', pattern: '^\\d{1,12}$' },
            example: '1736935200',
          },
          {
            name: 'webhook-signature',
            in: 'header',
            description:
              'Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` signatures. When present, the other two Standard Webhooks headers are required.',
            schema: { type: 'string' },
            example: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
          },
          {
            name: 'X-Webhook-Signature',
            in: 'header',
            description: 'HMAC-SHA256 of the raw body, hex, optionally prefixed `sha256=`.',
            schema: { type: 'string' },
            example: 'sha256=5b7e2d6a3f0c9e8d1b4a7c6f2e9d0b3a8c5f1e4d7b0a3c6e9f2d5b8a1c4e7f0a',
          },
          {
            name: 'X-Hub-Signature-256',
            in: 'header',
            description: 'As `X-Webhook-Signature`, under the name GitHub uses.',
            schema: { type: 'string' },
            example: 'sha256=5b7e2d6a3f0c9e8d1b4a7c6f2e9d0b3a8c5f1e4d7b0a3c6e9f2d5b8a1c4e7f0a',
          },
          {
            name: 'X-GitHub-Delivery',
            in: 'header',
            description: 'With a hex signature: the delivery id, so a redelivery answers with the first run.',
            schema: { type: 'string' },
            example: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          },
          {
            name: 'X-Webhook-Id',
            in: 'header',
            description: 'With a hex signature, when `X-GitHub-Delivery` is absent: the delivery id.',
            schema: { type: 'string' },
            example: 'delivery-20250115-0001',
          },
        ],
        requestBody: {
          description: 'Optional: an empty body starts a run without parameters.',
          required: false,
          content: json(schemaRef('WebhookDelivery'), {
            push: example('Parameters for the template', {
              parameters: { branch_name: 'main', environment: 'production' },
              metadata: { commit: '9fceb02' },
            }),
          }),
        },
        responses: {
          202: ok('The run, queued (or `skipped` by `overlap_policy: skip`).', 'TriggerResponse', {
            queued: example('Queued', TRIGGERED),
          }),
          ...error(400, 'The body is not UTF-8 JSON or not a JSON object.'),
          401: ownError(
            'The signature is missing, stale or wrong (one answer for every cause).',
            example('Not verified', errorBody(new WebhookRejectedError('bad_signature'))),
          ),
          ...error(404, 'No webhook at this path.'),
          ...error(409, 'The job is disabled, or its entity or environment is no longer there.'),
          ...error(413),
          ...error(
            422,
            'An invalid `parameters`, `config_override` or `metadata`, or a missing template parameter.',
          ),
          ...error(429),
          ...error(500),
        },
      },
    },
  };
}

// ── Webhooks: what the service sends ───────────────────────────────────────────────────────────────

const TARGET_EXECUTION_ID = 'exec_0m5z2b7qae1c4b7a0d3f6e9c2b5a8';
/** Unix seconds of the example request: 2025-01-15T10:00:00Z. */
const TARGET_TIMESTAMP = 1736935200;
/** The signing secret of the example's entity; the example `webhook-signature` verifies with it. */
const TARGET_SIGNING_SECRET = 'whsec_c2VydmVybGVzcy1qb2JzLWV4YW1wbGUtc2VjcmV0ISE=';

/** A run of the webhook job (Deploy on Push) as its team's `http` target receives it. */
const TARGET_REQUEST: ExecutionRequest = {
  execution_id: TARGET_EXECUTION_ID,
  workflow_id: `wf_${TARGET_EXECUTION_ID.slice('exec_'.length)}`,
  job_id: WEBHOOK_JOB_ID,
  job_name: 'Deploy on Push',
  entity: { id: 'deployment-team-uuid', type: 'team', name: 'Deployment team' },
  trigger_type: 'webhook',
  prompt: 'Deploy branch main to production',
  system_prompt: null,
  parameters: { branch_name: 'main', environment: 'production' },
  config: {},
  metadata: {
    commit: '9fceb02',
    webhook: {
      scheme: 'standard-webhooks',
      delivery_id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      secret: 'current',
    },
  },
  environment: { name: 'production', variables: { REGION: 'eu-west-1', LOG_LEVEL: 'info' } },
  attempt: 1,
  deadline_at: '2025-01-15T11:00:00.310Z',
  callback: {
    url: `https://jobs.example.com/executions/${TARGET_EXECUTION_ID}/callback`,
    token: `${WEBHOOK_JOB_ID}.earj0xUuE-7ZOt75Yg6shAg6OjZLsiO5jQSUxgJN3ZM`,
  },
};

/** The signature the service sends with the example request: over its compact JSON, the bytes it POSTs. */
const TARGET_SIGNATURE = signStandardWebhook({
  id: TARGET_EXECUTION_ID,
  timestamp: TARGET_TIMESTAMP,
  body: JSON.stringify(TARGET_REQUEST),
  secret: TARGET_SIGNING_SECRET,
});

const TARGET_TOLERANCE_MINUTES = DEFAULT_TOLERANCE_SECONDS / 60;

function webhooks(): Record<string, PathItem> {
  return {
    executionRequest: {
      post: {
        operationId: 'receiveExecutionRequest',
        tags: ['Targets'],
        summary: 'Run an attempt (sent to an http target)',
        description: [
          "Sent by the service, not called on it: for each attempt of a run on an entity with an `http` target, the worker POSTs the execution request to the target's `url` as JSON (`Content-Type: application/json`, `User-Agent: serverless-jobs`). A `lambda` target gets the same object as its payload, unsigned; the `echo` target returns it, without `callback`, as the output.",
          '',
          `**Verify the signature** ([Standard Webhooks](https://www.standardwebhooks.com)) over the raw body bytes as received, before parsing them (re-serialized JSON would not match): the key is the base64-decoded part of the entity's \`signing_secret\` after \`whsec_\` (returned once, when the http target was created); the signed content is \`\${webhook-id}.\${webhook-timestamp}.\${raw body}\`; the signature is the base64 HMAC-SHA256 of it, and \`webhook-signature\` holds space-separated \`v1,<signature>\` entries (compare in constant time; ignore other versions). Refuse a \`webhook-timestamp\` more than ${TARGET_TOLERANCE_MINUTES} minutes from your clock, as a replay. A Standard Webhooks library verifies all of this (\`new Webhook(secret).verify(rawBody, headers)\`); \`examples/agent.ts\` is a working verifier with node:crypto alone.`,
          '',
          `**Answer in time**: within the target's \`timeout_seconds\` (default ${DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS}), the run's \`deadline_at\` and the worker's own time, whichever ends first. No answer in time counts as a timeout: retried as a 5xx is, and at \`deadline_at\` the run is \`timed_out\`. Redirects are not followed (one could carry the signed body to another host).`,
          '',
          `**Retries** follow the run's \`config.retry\` (\`max_attempts\`, default ${DEFAULT_RUN_SETTINGS.maxAttempts}; \`backoff_seconds\`, default ${DEFAULT_RUN_SETTINGS.backoffSeconds}, doubled each attempt) while the next attempt can start before \`deadline_at\`: a 408, 429 or 5xx answer, a timeout or a network error is retried; any other answer outside 2xx fails the run at once. Each attempt sends the same \`execution_id\` (\`webhook-id\`) with the next \`attempt\`, a fresh signature and a new callback token.`,
          '',
          '**Long work**: answer 202 at once, then finish the run by POSTing a CallbackRequest (`{"status": "succeeded", "output": …}` or `{"status": "failed", "error_message": …}`) to `callback.url` with `Authorization: Bearer <callback.token>` (`POST /executions/{id}/callback`) before `deadline_at`; a run not finished by then is `timed_out`.',
        ].join('\n'),
        // The target authenticates the service by the signature headers below, not by an API key.
        security: NO_AUTH,
        parameters: [
          {
            name: 'webhook-id',
            in: 'header',
            required: true,
            description:
              'The execution id (`execution_id` of the body): the same for every attempt of a run.',
            schema: { type: 'string' },
            example: TARGET_EXECUTION_ID,
          },
          {
            name: 'webhook-timestamp',
            in: 'header',
            required: true,
            description: `Unix seconds when the request was signed. Refuse one more than ${TARGET_TOLERANCE_MINUTES} minutes from your clock.`,
            schema: { type: 'string', pattern: '^\\d{1,12}$' },
            example: String(TARGET_TIMESTAMP),
          },
          {
            name: 'webhook-signature',
            in: 'header',
            required: true,
            description: `Space-separated \`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">\` entries, keyed with the base64-decoded part of the entity's signing secret after \`whsec_\`; the service sends one. The example signs the example body as sent (compact JSON, keys in the order shown) with the secret \`${TARGET_SIGNING_SECRET}\`.`,
            schema: { type: 'string', pattern: '^v\\d+,\\S+( v\\d+,\\S+)*$' },
            example: TARGET_SIGNATURE,
          },
        ],
        requestBody: {
          description: 'The execution request.',
          required: true,
          content: json(schemaRef('ExecutionRequest'), {
            deploy: example('An attempt of a webhook run', TARGET_REQUEST),
          }),
        },
        responses: {
          200: {
            description:
              'Succeeded (any 2xx but 202 means the same): the body is recorded as the run’s `output` — parsed when the response is JSON (`application/json` or `+json`), kept as text otherwise, null when empty — and cut to 64 KiB, with `output_truncated`.',
            content: json(
              {},
              {
                output: example('Any JSON', {
                  deployed: true,
                  url: 'https://app.example.com',
                  version: '1.4.2',
                }),
              },
            ),
          },
          202: {
            description:
              'Accepted: the target took the run and will finish it with `POST /executions/{id}/callback` (`Authorization: Bearer <callback.token>`) before `deadline_at`. The body is ignored.',
          },
          '3XX': { description: 'Not followed: the run fails, without a retry.' },
          '4XX': {
            description:
              'The run fails without a retry, the start of the body quoted in `error_message`; except 408 and 429, which are retried as a 5xx is.',
          },
          '5XX': {
            description:
              'Retried per `config.retry` while attempts and time remain; then the run fails, the start of the body quoted in `error_message`.',
          },
        },
      },
    },
  };
}

/** Builds the document; deterministic, so the committed copy can be compared with it. */
export function buildOpenApiDocument(): OpenApiDocument {
  const responses: Record<string, Response> = {};
  for (const [name, response] of Object.values(ERROR_RESPONSES)) responses[name] = response;
  return {
    openapi: '3.1.0',
    info: {
      title: 'Serverless Jobs API',
      version: API_VERSION,
      description: [
        'Cron, signed webhook and manual triggers running agents, teams and workflows.',
        '',
        'Authenticate with an API key: `Authorization: Bearer <key>`. The health check and this document need none; a webhook delivery is authenticated by its signature, and a target reporting a result by the callback token of its run.',
        '',
        'Every error is `{"error": {"code", "message", "details": [{"path", "message", "code"}]}}`. Besides the answers each operation lists, a path that matches no route answers 404 and a method the path does not have answers 405 with `Allow`; HEAD is answered as GET without the body wherever GET is. Bodies are JSON objects of at most 256 KiB, sent with `Content-Type: application/json` (415 otherwise); their strings must be valid Unicode (a lone UTF-16 surrogate is a 422). Times are ISO 8601 in UTC. Lists are paged with `limit` and an opaque `cursor` (pass back `next_cursor`); each request reads a bounded number of items, so a page can hold fewer than `limit` items, even none, and still carry a `next_cursor`: only a null `next_cursor` ends the list.',
      ].join('\n'),
      license: { name: 'Apache 2.0', identifier: 'Apache-2.0' },
    },
    // Relative: the document describes the API it is served from, whatever its host.
    servers: [{ url: '/', description: 'The deployment this document was fetched from.' }],
    tags: [
      { name: 'Jobs', description: 'Jobs and their triggers.' },
      { name: 'Executions', description: 'Runs of jobs.' },
      { name: 'Entities', description: 'The agents, teams and workflows runs go to.' },
      { name: 'Webhooks', description: 'Signed deliveries and their secrets.' },
      { name: 'Schedules', description: 'Cron schedules.' },
      { name: 'Targets', description: 'What the service sends to the targets of entities.' },
      { name: 'Service', description: 'Health and this document.' },
    ],
    security: [{ apiKey: [] }],
    paths: paths(),
    webhooks: webhooks(),
    components: {
      schemas: componentSchemas(),
      parameters: PARAMETERS,
      responses,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key of the deployment (`npm start` prints the local one).',
        },
        callbackToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The callback token of one attempt of one run, sent to the target as `callback.token` in the execution request.',
        },
      },
    },
  };
}

let built: OpenApiDocument | undefined;

/** The document, built on first use and kept for the life of the process. */
export function openApiDocument(): OpenApiDocument {
  built ??= buildOpenApiDocument();
  return built;
}

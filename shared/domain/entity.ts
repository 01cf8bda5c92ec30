import * as z from 'zod/mini';
import { EVENT_BUS_PATTERN, SQS_QUEUE_URL_PATTERN, STATE_MACHINE_ARN_PATTERN } from './aws-targets.js';
import { EntityTypeSchema } from './job.js';

/** Client-chosen entity ids may be any readable slug (the reference uses `agent-uuid`). */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

const HttpTargetSchema = z.strictObject({
  type: z.literal('http'),
  url: z.string().check(
    z.maxLength(2048, 'must be at most 2048 characters'),
    z.refine((value) => {
      try {
        const url = new URL(value);
        return (
          (url.protocol === 'https:' || url.protocol === 'http:') &&
          url.username === '' &&
          url.password === ''
        );
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without credentials'),
  ),
  /** Longest a single request to the target may take. @default 30 */
  timeout_seconds: z.optional(
    z
      .number()
      .check(
        z.int('must be a whole number of seconds'),
        z.minimum(1, 'must be at least 1'),
        z.maximum(900, 'must be at most 900'),
      ),
  ),
});

const LambdaTargetSchema = z.strictObject({
  type: z.literal('lambda'),
  // A name, a partial ARN or a full ARN, optionally with a version or alias, as Lambda's Invoke takes it.
  function_name: z
    .string()
    .check(
      z.regex(
        /^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/,
        'must be a Lambda function name or ARN',
      ),
    ),
  invocation: z.optional(z.enum(['request_response', 'event'])).register(z.globalRegistry, {
    description:
      '`request_response` (the default): the run waits for the function’s result. `event`: an asynchronous invocation; the run succeeds once Lambda accepts it.',
  }),
});

const StepFunctionsTargetSchema = z.strictObject({
  type: z.literal('stepfunctions'),
  state_machine_arn: z
    .string()
    .check(
      z.regex(STATE_MACHINE_ARN_PATTERN, 'must be a state machine ARN, optionally with a version or alias'),
    )
    .register(z.globalRegistry, { description: 'Listed in the deployment’s `stateMachineTargets`.' }),
  workflow_type: z.optional(z.enum(['standard', 'express'])).register(z.globalRegistry, {
    description:
      '`standard` (the default): StartExecution, and the run ends when the execution does. `express`: StartSyncExecution, the run ends with its answer (at most 5 minutes).',
  }),
});

const SqsTargetSchema = z.strictObject({
  type: z.literal('sqs'),
  queue_url: z
    .string()
    .check(
      z.regex(
        SQS_QUEUE_URL_PATTERN,
        'must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)',
      ),
    )
    .register(z.globalRegistry, { description: 'Listed in the deployment’s `sqsTargets`.' }),
  message_group_id: z
    .optional(
      z
        .string()
        .check(z.regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable ASCII characters without spaces')),
    )
    .register(z.globalRegistry, { description: 'The message group; FIFO queues default to the job id.' }),
});

const EventBridgeTargetSchema = z.strictObject({
  type: z.literal('eventbridge'),
  event_bus_name: z
    .string()
    .check(z.regex(EVENT_BUS_PATTERN, 'must be an event bus name or ARN'))
    .register(z.globalRegistry, {
      description: 'Listed in the deployment’s `eventBusTargets`.',
    }),
  detail_type: z
    .optional(
      z
        .string()
        .check(z.minLength(1, 'must not be empty'), z.maxLength(128, 'must be at most 128 characters')),
    )
    .register(z.globalRegistry, {
      description: 'The event’s `detail-type`. Default `Serverless Jobs Execution Request`.',
    }),
  source: z
    .optional(
      z.string().check(
        z.regex(/^[\x21-\x7e]{1,256}$/, 'must be 1-256 printable ASCII characters without spaces'),
        z.refine((source) => !source.startsWith('aws.'), 'must not start with "aws." (reserved for AWS)'),
      ),
    )
    .register(z.globalRegistry, { description: 'The event’s `source`. Default `serverless-jobs`.' }),
});

const EchoTargetSchema = z.strictObject({ type: z.literal('echo') });

export const EntityTargetSchema = z
  .discriminatedUnion(
    'type',
    [
      HttpTargetSchema,
      LambdaTargetSchema,
      StepFunctionsTargetSchema,
      SqsTargetSchema,
      EventBridgeTargetSchema,
      EchoTargetSchema,
    ],
    {
      error:
        'must be an object whose "type" is "http", "lambda", "stepfunctions", "sqs", "eventbridge" or "echo"',
    },
  )
  .register(z.globalRegistry, {
    id: 'EntityTarget',
    description:
      'How runs reach the entity: an HTTP endpoint, a Lambda function, a Step Functions state machine, an SQS queue, an EventBridge event bus, or the built-in echo.',
  });
export type EntityTarget = z.infer<typeof EntityTargetSchema>;
export type HttpTarget = z.infer<typeof HttpTargetSchema>;
export type LambdaTarget = z.infer<typeof LambdaTargetSchema>;
export type StepFunctionsTarget = z.infer<typeof StepFunctionsTargetSchema>;
export type SqsTarget = z.infer<typeof SqsTargetSchema>;
export type EventBridgeTarget = z.infer<typeof EventBridgeTargetSchema>;
/** The target kinds that reach an AWS service the deployment must list. */
export type AwsListedTarget = StepFunctionsTarget | SqsTarget | EventBridgeTarget;

const EntityNameSchema = z
  .string()
  .check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(200, 'must be at most 200 characters'));

export const EntityCreateSchema = z
  .strictObject({
    id: z
      .optional(
        z.string().check(z.regex(ENTITY_ID_PATTERN, 'must be 1-128 letters, digits, "_", ".", ":" or "-"')),
      )
      .register(z.globalRegistry, {
        description: 'Optional: a readable id; the service issues `ent_<uuid>` when absent.',
      }),
    type: EntityTypeSchema,
    name: EntityNameSchema,
    description: z.optional(
      z.nullable(z.string().check(z.maxLength(4000, 'must be at most 4000 characters'))),
    ),
    target: EntityTargetSchema,
    default: z.optional(z.boolean()).register(z.globalRegistry, {
      description:
        'Make this the deployment’s default entity (the previous default stops being it). Default false.',
    }),
  })
  .register(z.globalRegistry, { id: 'EntityCreate', description: 'Body of `POST /entities`.' });

/** `type` and `id` are fixed at creation: jobs were checked against them. */
export const EntityPatchSchema = z
  .strictObject({
    name: z.optional(EntityNameSchema),
    description: z.optional(
      z.nullable(z.string().check(z.maxLength(4000, 'must be at most 4000 characters'))),
    ),
    target: z.optional(EntityTargetSchema),
    default: z.optional(z.boolean()),
  })
  .register(z.globalRegistry, {
    id: 'EntityPatch',
    description: 'Body of `PATCH /entities/{id}`: `id` and `type` are fixed at creation.',
  });

const entityFields = {
  id: z.string().register(z.globalRegistry, {
    description:
      'The entity id: chosen at creation (1-128 letters, digits, `_`, `.`, `:` or `-`) or `ent_` and a UUID.',
  }),
  type: EntityTypeSchema,
  name: z.string(),
  description: z.nullable(z.string()),
  target: EntityTargetSchema,
  default: z.boolean().register(z.globalRegistry, {
    description: 'The deployment’s default entity, which jobs naming none run on; at most one is.',
  }),
  created_at: z.string(),
  updated_at: z.string(),
};

export const EntitySchema = z.object(entityFields).register(z.globalRegistry, {
  id: 'Entity',
  description: 'An agent, team or workflow that runs are sent to.',
});

/** An entity as created or updated: with `signing_secret` when that answer created its http target's secret. */
export const EntityWithSecretSchema = z
  .object({ ...entityFields, signing_secret: z.optional(z.string()) })
  .register(z.globalRegistry, {
    id: 'EntityWithSecret',
    description:
      'An entity as created or updated; `signing_secret` is present only in the answer that created the http target’s secret.',
  });

export const EntityListResponseSchema = z
  .object({ entities: z.array(EntitySchema), next_cursor: z.nullable(z.string()) })
  .register(z.globalRegistry, { id: 'EntityList', description: 'A page of entities, newest first.' });

export type EntityCreateInput = z.input<typeof EntityCreateSchema>;
export type EntityPatchInput = z.input<typeof EntityPatchSchema>;
/** A create body as validated by EntityCreateSchema. */
export type EntityCreate = z.output<typeof EntityCreateSchema>;
/** A patch body as validated by EntityPatchSchema. */
export type EntityPatch = z.output<typeof EntityPatchSchema>;
export type Entity = z.infer<typeof EntitySchema>;

/** An entity as returned by the call that created its signing secret: the only time the secret is shown. */
export type EntityWithSecret = Entity & { signing_secret: string };

import { createDocument, type ZodOpenApiOverrideContext } from 'zod-openapi';
import {
  EntityTypeSchema,
  ExecutorTypeSchema,
  PlanningModeSchema,
  TriggerTypeSchema,
} from '../domain/job.js';
import { JsonObjectSchema } from '../domain/json.js';
import { RunConfigObjectSchema, RunConfigSchema } from '../domain/run-config.js';
import { ErrorDetailSchema, ErrorSchema, sharedErrorResponses } from './openapi/error-responses.js';
import { executionRequestWebhook } from './openapi/execution-request-webhook.js';
import { pathsOf } from './openapi/operations.js';
import { ROUTES } from './routes/index.js';

/*
 * The OpenAPI 3.1 document of the whole HTTP API: the control plane (the API function) and signed
 * webhook deliveries (the webhook function), plus, under `webhooks`, the execution request the service
 * sends to `http` targets. Built by zod-openapi from the route table and the zod schemas the routes
 * validate with (ids and descriptions registered on them in zod's global registry), at build time only: `npm run openapi`
 * writes it to docs/openapi.json, which the API serves as it is. `test/unit/openapi.test.ts` checks the
 * committed copy is this document, and checks the document against the route table, the OpenAPI schema,
 * real responses of the handlers and a real request to a target.
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
  /** The scope a caller needs (`read`, `trigger`, `admin`), on operations callers authenticate to. */
  'x-required-scope'?: string;
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

/** Named schemas in the order the document lists them (zod-openapi finds them; this only sorts). */
const COMPONENT_ORDER = [
  'JsonObject',
  'RunConfig',
  'TriggerType',
  'PlanningMode',
  'EntityType',
  'ExecutorType',
  'ExecutionStatus',
  'Job',
  'JobCreate',
  'JobPatch',
  'JobList',
  'TriggerRequest',
  'TriggerResponse',
  'Execution',
  'ExecutionList',
  'CallbackRequest',
  'ExecutionRequest',
  'EntityTarget',
  'Entity',
  'EntityWithSecret',
  'EntityCreate',
  'EntityPatch',
  'EntityList',
  'WebhookSecretRotateRequest',
  'WebhookSecretRotation',
  'WebhookDelivery',
  'SchedulePreview',
  'Scope',
  'ApiKeyCreate',
  'ApiKey',
  'ApiKeyWithSecret',
  'ApiKeyList',
  'AuditActor',
  'AuditEntry',
  'JobHistory',
  'Health',
  'ErrorDetail',
  'Error',
];

/**
 * What zod renders differently from the document's conventions:
 * - JsonObject is a refinement of z.unknown(), which JSON Schema cannot see through: it is an object;
 * - `config` and `config_override` are any JSON object whose service-read keys follow RunConfig;
 * - answers are described as requests are (input mode), so their objects stay open: a client built from
 *   the document keeps working when fields are added (strict request bodies stay closed either way);
 * - a union of objects is not itself typed (`oneOf` says it all).
 */
function conventions({ jsonSchema, zodSchema, io }: ZodOpenApiOverrideContext): void {
  const schema: unknown = zodSchema;
  if (schema === JsonObjectSchema) jsonSchema.type = 'object';
  if (schema === RunConfigObjectSchema) {
    for (const key of Object.keys(jsonSchema)) if (key !== 'description') delete jsonSchema[key];
    jsonSchema.$ref = '#/components/schemas/RunConfig';
  }
  const def = zodSchema._zod.def;
  if (io === 'output' && def.type === 'object' && jsonSchema.additionalProperties === false) {
    const strict = def.catchall?._zod.def.type === 'never';
    if (!strict) delete jsonSchema.additionalProperties;
  }
  // zod-openapi marks a discriminated union an object, and keeps that when it cannot name its options.
  if (def.type === 'union' && jsonSchema.oneOf && !jsonSchema.discriminator) delete jsonSchema.type;
}

/**
 * A field's description belongs to the field, not to the non-null branch of its `anyOf` (where zod puts
 * it when `.nullable()` wraps a described schema, as a create body wraps the job's fields). Runs on the
 * finished document: zod flattens shared schemas in an order its override hook cannot rely on.
 */
function describeNullableFields(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) describeNullableFields(item);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const object = value as Record<string, unknown>;
  const branches = object.anyOf;
  if (Array.isArray(branches) && branches.length === 2 && object.description === undefined) {
    const nulls = branches.filter((branch) => branch?.type === 'null');
    const described = branches.find((branch) => typeof branch?.description === 'string');
    if (nulls.length === 1 && described) {
      object.description = described.description;
      delete described.description;
      // Bare types then read as zod writes them: `type: ["string", "null"]`.
      if (
        branches.every((branch) => Object.keys(branch).join() === 'type' && typeof branch.type === 'string')
      ) {
        object.type = branches.map((branch) => branch.type);
        delete object.anyOf;
      }
    }
  }
  for (const item of Object.values(object)) describeNullableFields(item);
}

/** zod-openapi leaves a registered schema's own metadata keys beside a `$ref` (a parameter of a named schema): drop them. */
function dropLeftoverMeta(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropLeftoverMeta(item);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const object = value as Record<string, unknown>;
  if ('$ref' in object) for (const key of ['param', 'header', 'override']) delete object[key];
  for (const item of Object.values(object)) dropLeftoverMeta(item);
}

/** Keys in the order the OpenAPI specification lists them, so the committed file reads as it always has. */
function inSpecOrder<T extends object>(object: T, order: readonly string[]): T {
  const keys = Object.keys(object).sort((a, b) => rank(order, a) - rank(order, b));
  return Object.fromEntries(keys.map((key) => [key, object[key as keyof T]])) as T;
}

const rank = (order: readonly string[], key: string) =>
  order.includes(key) ? order.indexOf(key) : order.length;
const PARAMETER_KEYS = ['name', 'in', 'required', 'description', 'schema', 'example'];
const HEADER_KEYS = ['description', 'required', 'schema', 'example'];

/** Puts the keys of every parameter and response header in specification order. */
function orderKeys(document: Record<string, unknown>): void {
  const operations = [document.paths, document.webhooks].flatMap((section) =>
    Object.values((section ?? {}) as Record<string, Record<string, Operation>>).flatMap((item) =>
      Object.values(item),
    ),
  );
  const components = document.components as OpenApiDocument['components'];
  for (const operation of operations) {
    operation.parameters = operation.parameters?.map((parameter) =>
      '$ref' in parameter ? parameter : inSpecOrder(parameter, PARAMETER_KEYS),
    );
    for (const response of Object.values(operation.responses)) {
      if ('headers' in response && response.headers) {
        response.headers = Object.fromEntries(
          Object.entries(response.headers).map(([name, header]) => [name, inSpecOrder(header, HEADER_KEYS)]),
        );
      }
    }
  }
  const describedLast = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(describedLast);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value).map(([key, item]) => [key, describedLast(item)] as const);
    // A string: the schema's description; an object: a property named `description`.
    const isText = ([key, item]: readonly [string, unknown]) =>
      key === 'description' && typeof item === 'string';
    return Object.fromEntries([...entries.filter((entry) => !isText(entry)), ...entries.filter(isText)]);
  };
  for (const [name, schema] of Object.entries(components.schemas)) {
    // Beside `properties` a description reads as one, so it goes last (as zod's registry puts it).
    components.schemas[name] =
      name === 'JsonObject' ? schema : (describedLast(schema) as Record<string, unknown>);
  }
  for (const [name, parameter] of Object.entries(components.parameters ?? {})) {
    components.parameters[name] = inSpecOrder(parameter, PARAMETER_KEYS);
  }
  for (const response of Object.values(components.responses ?? {})) {
    if (response.headers) {
      response.headers = Object.fromEntries(
        Object.entries(response.headers).map(([name, header]) => [name, inSpecOrder(header, HEADER_KEYS)]),
      );
    }
  }
}

/** Builds the document; deterministic, so the committed copy can be compared with it. */
export function buildOpenApiDocument(): OpenApiDocument {
  const document = createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Serverless Jobs API',
        version: API_VERSION,
        description: [
          'Cron, signed webhook and manual triggers running agents, teams and workflows.',
          '',
          'Authenticate with an API key: `Authorization: Bearer <key>`, or, on a deployment with IAM authorization, with a SigV4-signed request (`execute-api`). Each operation needs a scope (`x-required-scope`): `read` (GET operations), `trigger` (reads, plus trigger and cancel) or `admin` (everything); a key of a narrower scope gets 403 naming the one needed. The health check and this document need none; a webhook delivery is authenticated by its signature, and a target reporting a result by the callback token of its run.',
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
        { name: 'Access', description: 'Scoped API keys.' },
        { name: 'Targets', description: 'What the service sends to the targets of entities.' },
        { name: 'Service', description: 'Health and this document.' },
      ],
      security: [{ apiKey: [] }],
      paths: pathsOf(Object.values(ROUTES)),
      webhooks: executionRequestWebhook(),
      components: {
        // Named here so each is listed even where only a description names it (RunConfig), in order.
        schemas: {
          JsonObject: JsonObjectSchema,
          RunConfig: RunConfigSchema,
          TriggerType: TriggerTypeSchema,
          PlanningMode: PlanningModeSchema,
          EntityType: EntityTypeSchema,
          ExecutorType: ExecutorTypeSchema,
          ErrorDetail: ErrorDetailSchema,
          Error: ErrorSchema,
        },
        responses: sharedErrorResponses(),
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
    },
    { override: conventions },
  );

  dropLeftoverMeta(document);
  describeNullableFields(document.components?.schemas);
  orderKeys(document as unknown as Record<string, unknown>);
  const { schemas = {}, parameters = {}, responses = {}, securitySchemes = {} } = document.components ?? {};
  return {
    ...document,
    components: {
      schemas: ordered(schemas, COMPONENT_ORDER),
      parameters: ordered(parameters, ['JobId', 'ExecutionId', 'EntityId', 'Limit', 'Cursor']),
      responses,
      securitySchemes,
    },
  } as unknown as OpenApiDocument;
}

/** `items` with the names in `order` first, in that order, then the rest by name. */
function ordered<T>(items: Record<string, T>, order: readonly string[]): Record<string, T> {
  const names = [...order.filter((name) => name in items), ...Object.keys(items).sort()];
  return Object.fromEntries([...new Set(names)].map((name) => [name, items[name] as T]));
}

import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { invokeHttpTarget } from '../../shared/adapters/http-target.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { createTargetInvoker } from '../../shared/adapters/target-invoker.js';
import { webhookSecretContext } from '../../shared/app/job-service.js';
import { RunWorker } from '../../shared/app/run-worker.js';
import type { EntityWithSecret } from '../../shared/domain/entity.js';
import type { Execution, ExecutionRequest, TriggerResponse } from '../../shared/domain/execution.js';
import type { Job } from '../../shared/domain/job.js';
import { makeWebhookHandler } from '../../shared/handlers/webhook-handler.js';
import { makeApiHandler } from '../../shared/http/api-handler.js';
import {
  buildOpenApiDocument,
  type HttpMethod,
  type MediaType,
  type OpenApiDocument,
  type Operation,
  type Parameter,
  type Reference,
  type Response,
} from '../../shared/http/openapi.js';
import { API_ROUTES } from '../../shared/http/routes/index.js';
import type { DeploymentConfig, RateLimiter } from '../../shared/ports.js';
import { type AgentRequest, startAgentServer } from '../support/agent-server.js';
import { type ApiEventInput, type ApiResult, callApi } from '../support/api-events.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  makeEntity,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { REFERENCE_ENTITIES } from '../support/reference-jobs.js';
import { testServices } from '../support/services.js';

const COMMITTED = new URL('../../docs/openapi.json', import.meta.url);
const API_KEY = 'test-key';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const START = Date.parse('2025-01-15T09:00:00.000Z');
const METHODS: readonly HttpMethod[] = ['get', 'post', 'patch', 'delete'];
/** Served by the webhook function, not the API function's route table. */
const WEBHOOK_ROUTE = 'POST /webhooks/{path}';

const doc = buildOpenApiDocument();

/**
 * Every operation of a section of the document, with its path (under `webhooks`, the webhook's name)
 * and method: `paths` are what the service serves, `webhooks` what it sends.
 */
function operations(
  section: 'paths' | 'webhooks' = 'paths',
): { path: string; method: HttpMethod; operation: Operation }[] {
  return Object.entries(doc[section]).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ path, method, operation }] : [];
    }),
  );
}

function operation(method: string, path: string): Operation {
  const found = doc.paths[path]?.[method.toLowerCase() as HttpMethod];
  if (!found) throw new Error(`${method} ${path} is not in the document`);
  return found;
}

const lastSegment = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1);

function resolveResponse(response: Response | Reference): Response {
  if (!('$ref' in response)) return response;
  const target = doc.components.responses[lastSegment(response.$ref)];
  if (!target) throw new Error(`No response ${response.$ref}`);
  return target;
}

function resolveParameter(parameter: Parameter | Reference): Parameter {
  if (!('$ref' in parameter)) return parameter;
  const target = doc.components.parameters[lastSegment(parameter.$ref)];
  if (!target) throw new Error(`No parameter ${parameter.$ref}`);
  return target;
}

/**
 * Object schemas that do not say otherwise are closed here, so a field the code sends but the document
 * does not name fails the test, while the published document stays open for clients.
 */
function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = closeObjects(value);
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

const BUNDLE_ID = 'urn:serverless-jobs:openapi';
/** A schema of the document with its component refs pointing into the bundle ajv holds. */
const bundled = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${BUNDLE_ID}#/$defs/`));

const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
ajv.addSchema({ $id: BUNDLE_ID, $defs: bundled(closeObjects(doc.components.schemas)) });
const validators = new Map<string, ValidateFunction>();

/** Validates `value` against the schema at `segments` (a JSON Pointer's segments) in the document. */
function validateAt(segments: readonly string[], value: unknown): string[] {
  let schema: unknown = doc;
  for (const segment of segments) schema = (schema as Record<string, unknown> | undefined)?.[segment];
  if (schema === undefined) throw new Error(`No schema at ${segments.join('/')}`);
  const key = segments.join('\0');
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(bundled(schema) as object);
    validators.set(key, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`);
}

/** The schema location of a response's JSON body, following a shared response to its component. */
function responseSchemaPath(method: string, path: string, status: number): string[] {
  const responses = operation(method, path).responses;
  const response = responses[status];
  if (!response) return [];
  if ('$ref' in response)
    return ['components', 'responses', lastSegment(response.$ref), 'content', 'application/json', 'schema'];
  return [
    'paths',
    path,
    method.toLowerCase(),
    'responses',
    String(status),
    'content',
    'application/json',
    'schema',
  ];
}

/**
 * Asserts that the document describes a real answer of the handler: its status is listed for the
 * route, every documented header is there, and the body matches the documented schema.
 */
function expectDocumented(method: string, path: string, result: ApiResult): void {
  const where = `${method} ${path} → ${result.status}`;
  const listed = operation(method, path).responses[result.status];
  expect(listed, `${where} is not documented`).toBeDefined();
  const response = resolveResponse(listed as Response | Reference);
  for (const name of Object.keys(response.headers ?? {})) {
    expect(result.headers[name.toLowerCase()], `${where}: header ${name}`).toBeDefined();
  }
  if (response.content === undefined) {
    expect(result.body, `${where} has a body the document does not describe`).toBe('');
    return;
  }
  expect(validateAt(responseSchemaPath(method, path, result.status), result.json), `${where}: body`).toEqual(
    [],
  );
}

/** The request body examples of an operation, by name. */
function requestExamples(method: string, path: string): Record<string, unknown> {
  const media = operation(method, path).requestBody?.content['application/json'];
  if (!media) throw new Error(`${method} ${path} has no JSON request body`);
  return Object.fromEntries(Object.entries(media.examples).map(([name, { value }]) => [name, value]));
}

/** A rate limiter that always allows. */
class AllowingRateLimiter implements RateLimiter {
  async take() {
    return { allowed: true as const };
  }
}

/**
 * The API and webhook handlers over shared in-memory stores: the reference's entities, a default echo
 * entity, an open deployment (or `deployment`), a clock that moves only when told.
 */
function setup(deployment: DeploymentConfig = openDeployment()) {
  const clock = new ManualClock(START);
  const entities = new MemoryEntityStore();
  for (const entity of [
    makeEntity({ id: 'echo-default', default: true }),
    ...REFERENCE_ENTITIES.map(({ id, type }) => makeEntity({ id, type })),
  ]) {
    // The memory store's create never awaits, so the entities are in place when it returns.
    void entities.create(entity, null);
  }
  const jobStore = new MemoryJobStore({ entities });
  const webhooks = new MemoryWebhookStore();
  const secrets = new FakeSecretBox();
  const queue = new RecordingQueue();
  const deps = {
    jobStore,
    webhooks,
    entities,
    executions: new MemoryExecutionStore(),
    queue,
    secrets,
    deployment,
    scheduler: new MemoryScheduler(),
    clock,
    ids: sequentialIds(clock),
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
    rateLimiter: new AllowingRateLimiter(),
  };
  const built = testServices({ ...deps, deploymentKeys: HashedApiKeys.fromKeys([API_KEY]) });
  const _jobs = built.jobs;
  const api = makeApiHandler({
    services: built,
    clock,
    logger: deps.logger,
  });
  const webhook = makeWebhookHandler({
    webhooks: built.webhooks,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const routes = Object.values(API_ROUTES);
  /** Calls the API with the key and checks the answer against the document for `pattern`. */
  const call = async (pattern: string, input: ApiEventInput, auth = true): Promise<ApiResult> => {
    const result = await callApi(api, { ...input, headers: { ...(auth && AUTH), ...input.headers } });
    expectDocumented(input.method, pattern, result);
    return result;
  };
  const deliver = async (input: Omit<ApiEventInput, 'method'>): Promise<ApiResult> => {
    const result = await callApi(webhook, { ...input, method: 'POST' });
    expectDocumented('POST', '/webhooks/{path}', result);
    return result;
  };
  /** The memory job store writes no webhook record; the DynamoDB one does, in the same transaction. */
  const seedWebhook = async (job: Job) => {
    const path = job.webhook_path as string;
    webhooks.records.set(path, {
      path,
      jobId: job.id,
      job: null,
      sealedSecret: await secrets.seal(job.webhook_secret as string, webhookSecretContext(job.id)),
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: null,
      lastSecretUsed: null,
    });
  };
  return { routes, call, deliver, seedWebhook, api, deps, queue };
}

describe('the committed document', () => {
  it('is the generated one (run `npm run openapi` when this fails)', () => {
    // Prepare
    const committed: unknown = JSON.parse(readFileSync(COMMITTED, 'utf8'));

    // Act
    const generated: unknown = JSON.parse(JSON.stringify(buildOpenApiDocument()));

    // Assess
    expect(committed, 'docs/openapi.json is stale: run `npm run openapi`').toEqual(generated);
  });

  it('is deterministic and carries the package version', () => {
    // Prepare
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };

    // Act
    const again = buildOpenApiDocument();

    // Assess
    expect(JSON.stringify(again)).toBe(JSON.stringify(doc));
    expect(doc.info.version).toBe(pkg.version);
  });
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    // Prepare
    const validator = new Validator();

    // Act
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);

    // Assess
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has exactly the routes of the API route table and the webhook route, with their methods', () => {
    // Prepare
    const { routes } = setup();

    // Act
    const documented = operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`);

    // Assess
    const served = [...routes.map((route) => `${route.method} ${route.path}`), WEBHOOK_ROUTE];
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it('asks for the API key exactly where the route table does', () => {
    // Prepare
    const { routes } = setup();

    // Act
    const security = new Map(
      operations().map(({ method, path, operation }) => [
        `${method.toUpperCase()} ${path}`,
        operation.security ?? doc.security,
      ]),
    );

    // Assess
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      if (route.auth === 'api-key') expect(security.get(key), key).toEqual([{ apiKey: [] }]);
      else expect(security.get(key), key).not.toContainEqual({ apiKey: [] });
    }
    expect(security.get('POST /executions/{id}/callback')).toEqual([{ callbackToken: [] }]);
    expect(security.get(WEBHOOK_ROUTE)).toEqual([]);
  });

  it('gives every operation a unique id, a summary, a description, an example per body and a 500', () => {
    // Prepare
    const all = operations();

    // Act
    const ids = [...all, ...operations('webhooks')].map(({ operation }) => operation.operationId);

    // Assess
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, operation } of all) {
      const where = `${method} ${path}`;
      expect(operation.summary, where).not.toBe('');
      expect(operation.description, where).not.toBe('');
      expect(Object.keys(operation.responses), where).toContain('500');
      const media: MediaType[] = [
        ...Object.values(operation.requestBody?.content ?? {}),
        ...Object.values(operation.responses).flatMap((response) =>
          Object.values(resolveResponse(response).content ?? {}),
        ),
      ];
      for (const { examples } of media) expect(Object.keys(examples).length, where).toBeGreaterThan(0);
    }
  });

  it('documents the query parameters GET /jobs validates', () => {
    // Prepare
    const parameters = (operation('GET', '/jobs').parameters ?? []).map(resolveParameter);

    // Act
    const names = parameters.filter((parameter) => parameter.in === 'query').map(({ name }) => name);

    // Assess
    expect(names.sort()).toEqual(Object.keys(API_ROUTES.listJobs.query.shape).sort());
  });

  it('has component schemas without $schema, $id or $defs', () => {
    // Act
    const text = JSON.stringify(doc.components.schemas);

    // Assess
    expect(text).not.toMatch(/"\$(schema|id|defs)"/);
    expect(doc.components.schemas.Job).toMatchObject({ type: 'object', description: expect.any(String) });
  });
});

describe('the examples', () => {
  /** Every example of the document with the location of the schema it illustrates. */
  function examples(): { where: string; schema: string[]; value: unknown }[] {
    const found: { where: string; schema: string[]; value: unknown }[] = [];
    const media = (base: string[], content: Record<string, MediaType> | undefined) => {
      for (const [type, { examples: named }] of Object.entries(content ?? {})) {
        for (const [name, { value }] of Object.entries(named)) {
          found.push({
            where: `${base.join(' ')} ${name}`,
            schema: [...base, 'content', type, 'schema'],
            value,
          });
        }
      }
    };
    const parameter = (base: string[], { example }: Parameter) => {
      if (example !== undefined)
        found.push({ where: base.join(' '), schema: [...base, 'schema'], value: example });
    };
    for (const section of ['paths', 'webhooks'] as const) {
      for (const { path, method, operation } of operations(section)) {
        const base = [section, path, method];
        if (operation.requestBody) media([...base, 'requestBody'], operation.requestBody.content);
        for (const [status, response] of Object.entries(operation.responses)) {
          if (!('$ref' in response)) media([...base, 'responses', status], response.content);
        }
        for (const [index, item] of (operation.parameters ?? []).entries()) {
          if (!('$ref' in item)) parameter([...base, 'parameters', String(index)], item);
        }
      }
    }
    for (const [name, response] of Object.entries(doc.components.responses)) {
      media(['components', 'responses', name], response.content);
      for (const [header, { example }] of Object.entries(response.headers ?? {})) {
        if (example !== undefined) {
          const base = ['components', 'responses', name, 'headers', header];
          found.push({ where: base.join(' '), schema: [...base, 'schema'], value: example });
        }
      }
    }
    for (const [name, item] of Object.entries(doc.components.parameters)) {
      parameter(['components', 'parameters', name], item);
    }
    return found;
  }

  it('each match their schema', () => {
    // Prepare
    const all = examples();

    // Act
    const failures = all.flatMap(({ where, schema, value }) =>
      validateAt(schema, value).map((problem) => `${where}: ${problem}`),
    );

    // Assess
    expect(all.length).toBeGreaterThan(50);
    expect(all.map(({ where }) => where)).toContain('webhooks executionRequest post requestBody deploy');
    expect(failures).toEqual([]);
  });
});

describe('the handlers answer as documented', () => {
  it('for jobs: create, read, list, update, enable, disable, delete and their errors', async () => {
    // Prepare
    const { call, seedWebhook } = setup();
    const created: Record<string, Job> = {};

    // Act
    for (const [name, body] of Object.entries(requestExamples('POST', '/jobs'))) {
      const result = await call('/jobs', { method: 'POST', path: '/jobs', body: JSON.stringify(body) });
      expect(result.status, name).toBe(201);
      created[name] = result.json as Job;
    }
    const cron = created.cron as Job;
    const webhook = created.webhook as Job;
    await seedWebhook(webhook);

    // Assess
    expect((await call('/jobs/{id}', { method: 'GET', path: `/jobs/${cron.id}` })).status).toBe(200);
    const read = await call('/jobs/{id}', { method: 'GET', path: `/jobs/${webhook.id}` });
    expect(read.json).toMatchObject({ webhook_secret_rotated_at: null, webhook_last_secret_used: null });
    const listed = await call('/jobs', {
      method: 'GET',
      path: '/jobs',
      query: { enabled: 'true', trigger_type: 'cron', limit: '1' },
    });
    expect(listed.json).toMatchObject({ jobs: [{ id: cron.id }] });
    for (const body of Object.values(requestExamples('PATCH', '/jobs/{id}'))) {
      const path = `/jobs/${cron.id}`;
      expect((await call('/jobs/{id}', { method: 'PATCH', path, body: JSON.stringify(body) })).status).toBe(
        200,
      );
    }
    for (const action of ['enable', 'disable'] as const) {
      const result = await call(`/jobs/{id}/${action}`, {
        method: 'POST',
        path: `/jobs/${cron.id}/${action}`,
      });
      expect(result.status).toBe(200);
    }
    expect((await call('/jobs/{id}', { method: 'DELETE', path: `/jobs/${cron.id}` })).status).toBe(204);
    expect((await call('/jobs/{id}', { method: 'GET', path: `/jobs/${cron.id}` })).status).toBe(404);
    expect((await call('/jobs', { method: 'GET', path: '/jobs' }, false)).status).toBe(401);
    expect((await call('/jobs', { method: 'POST', path: '/jobs', body: '{"name":' })).status).toBe(400);
    expect((await call('/jobs', { method: 'POST', path: '/jobs', body: '{"colour":"red"}' })).status).toBe(
      422,
    );
    const huge = JSON.stringify({ name: 'x'.repeat(300 * 1024) });
    expect((await call('/jobs', { method: 'POST', path: '/jobs', body: huge })).status).toBe(413);
    const badCursor = { method: 'GET', path: '/jobs', query: { cursor: 'nope' } };
    expect((await call('/jobs', badCursor)).status).toBe(400);
    expect((await call('/jobs', { method: 'GET', path: '/jobs', query: { limit: '0' } })).status).toBe(422);
  });

  it('for runs: trigger, history, one execution, cancel, callback and rotation', async () => {
    // Prepare
    const { call, seedWebhook } = setup();
    const examples = requestExamples('POST', '/jobs');
    const create = async (body: unknown) =>
      (await call('/jobs', { method: 'POST', path: '/jobs', body: JSON.stringify(body) })).json as Job;
    const manual = await create(examples.manual);
    const webhook = await create(examples.webhook);
    await seedWebhook(webhook);
    const trigger = operation('POST', '/jobs/{id}/trigger');
    const idempotencyKey = trigger.parameters
      ?.map(resolveParameter)
      .find(({ in: where }) => where === 'header');

    // Act
    const triggered = await call('/jobs/{id}/trigger', {
      method: 'POST',
      path: `/jobs/${manual.id}/trigger`,
      headers: { [idempotencyKey?.name ?? '']: String(idempotencyKey?.example) },
      body: JSON.stringify(requestExamples('POST', '/jobs/{id}/trigger').rollback),
    });

    // Assess
    expect(triggered.status).toBe(202);
    const { execution_id: executionId } = triggered.json as TriggerResponse;
    const executions = `/jobs/${manual.id}/executions`;
    const history = await call('/jobs/{id}/executions', {
      method: 'GET',
      path: executions,
      query: { limit: '20', offset: '0' },
    });
    expect(history.json).toMatchObject({ total_count: 1 });
    const one = `/jobs/{id}/executions/{eid}`;
    expect((await call(one, { method: 'GET', path: `${executions}/${executionId}` })).status).toBe(200);
    const cancel = { method: 'POST', path: `${executions}/${executionId}/cancel` };
    expect((await call(`${one}/cancel`, cancel)).status).toBe(200);
    expect((await call(`${one}/cancel`, cancel)).status).toBe(409);
    const callback = {
      method: 'POST',
      path: `/executions/${executionId}/callback`,
      headers: { authorization: 'Bearer not-the-token' },
      body: JSON.stringify(requestExamples('POST', '/executions/{id}/callback').succeeded),
    };
    expect((await call('/executions/{id}/callback', callback, false)).status).toBe(401);
    const rotate = {
      method: 'POST',
      path: `/jobs/${webhook.id}/webhook-secret/rotate`,
      body: JSON.stringify(requestExamples('POST', '/jobs/{id}/webhook-secret/rotate').hour),
    };
    expect((await call('/jobs/{id}/webhook-secret/rotate', rotate)).status).toBe(200);
    const notWebhook = { method: 'POST', path: `/jobs/${manual.id}/webhook-secret/rotate` };
    expect((await call('/jobs/{id}/webhook-secret/rotate', notWebhook)).status).toBe(409);
  });

  it('for entities, the schedule preview and the health check', async () => {
    // Prepare
    const { call } = setup();
    const preview = (operation('GET', '/cron/preview').parameters ?? []).map(resolveParameter);

    // Act
    const created = [];
    for (const body of Object.values(requestExamples('POST', '/entities'))) {
      created.push(
        await call('/entities', { method: 'POST', path: '/entities', body: JSON.stringify(body) }),
      );
    }

    // Assess
    expect(created.map(({ status }) => status)).toEqual([201, 201]);
    expect(
      (await call('/entities', { method: 'GET', path: '/entities', query: { limit: '2' } })).status,
    ).toBe(200);
    expect((await call('/entities/{id}', { method: 'GET', path: '/entities/support-agent' })).status).toBe(
      200,
    );
    const patch = JSON.stringify(requestExamples('PATCH', '/entities/{id}').rename);
    const patched = await call('/entities/{id}', {
      method: 'PATCH',
      path: '/entities/support-agent',
      body: patch,
    });
    expect(patched.status).toBe(200);
    expect((await call('/entities/{id}', { method: 'DELETE', path: '/entities/billing-agent' })).status).toBe(
      204,
    );
    expect((await call('/entities/{id}', { method: 'GET', path: '/entities/billing-agent' })).status).toBe(
      404,
    );
    const query = Object.fromEntries(preview.map(({ name, example }) => [name, String(example)]));
    expect((await call('/cron/preview', { method: 'GET', path: '/cron/preview', query })).status).toBe(200);
    const noExpression = { method: 'GET', path: '/cron/preview' };
    expect((await call('/cron/preview', noExpression)).status).toBe(422);
    expect((await call('/health', { method: 'GET', path: '/health' }, false)).status).toBe(200);
  });

  it('for webhook deliveries: accepted, unsigned and unknown', async () => {
    // Prepare
    const { call, deliver, seedWebhook } = setup();
    const body = JSON.stringify(requestExamples('POST', '/jobs').webhook);
    const job = (await call('/jobs', { method: 'POST', path: '/jobs', body })).json as Job;
    await seedWebhook(job);
    const delivery = JSON.stringify(requestExamples('POST', '/webhooks/{path}').push);
    const signature = createHmac('sha256', job.webhook_secret as string)
      .update(delivery)
      .digest('hex');
    const path = `/webhooks/${job.webhook_path}`;

    // Act
    const accepted = await deliver({
      path,
      headers: { 'x-hub-signature-256': `sha256=${signature}` },
      body: delivery,
    });

    // Assess
    expect(accepted.status).toBe(202);
    expect((await deliver({ path, body: delivery })).status).toBe(401);
    expect((await deliver({ path: '/webhooks/AAAAAAAAAAAAAAAAAAAAAA', body: delivery })).status).toBe(404);
  });
});

describe('the executionRequest webhook (what the service sends to an http target)', () => {
  const SENT = ['webhooks', 'executionRequest', 'post'];
  const BODY_SCHEMA = [...SENT, 'requestBody', 'content', 'application/json', 'schema'];

  function executionRequestWebhook(): Operation {
    const found = doc.webhooks.executionRequest?.post;
    if (!found) throw new Error('The executionRequest webhook is not in the document');
    return found;
  }

  /** The documented request headers, each with the location of its schema. */
  function documentedHeaders(): { parameter: Parameter; schema: string[] }[] {
    return (executionRequestWebhook().parameters ?? []).flatMap((item, index) => {
      const parameter = resolveParameter(item);
      return parameter.in === 'header'
        ? [{ parameter, schema: [...SENT, 'parameters', String(index), 'schema'] }]
        : [];
    });
  }

  /** One header of a received request as a string ('' when absent). */
  const header = (request: AgentRequest, name: string): string => {
    const value = request.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };

  /**
   * The API over in-memory stores with a deployment that declares an environment, an entity whose
   * `http` target is `url` (created through the API, which returns its signing secret), a job on it
   * and one manual trigger; plus the worker, over the same stores, with the real target invoker.
   */
  async function triggeredHttpRun(url: string) {
    const { call, deps, queue } = setup(
      openDeployment({
        environments: { staging: { queue: 'staging-workers', variables: { REGION: 'eu-west-1' } } },
      }),
    );
    const entity = await call('/entities', {
      method: 'POST',
      path: '/entities',
      body: JSON.stringify({
        id: 'deploy-agent',
        type: 'agent',
        name: 'Deploy agent',
        target: { type: 'http', url, timeout_seconds: 10 },
      }),
    });
    expect(entity.status).toBe(201);
    const job = await call('/jobs', {
      method: 'POST',
      path: '/jobs',
      body: JSON.stringify({
        name: 'Deploy',
        trigger_type: 'manual',
        entity_type: 'agent',
        entity_id: 'deploy-agent',
        prompt_template: 'Deploy {{ branch }} to {{ target }}',
        system_prompt: 'Roll back on any failed health check.',
        executor_type: 'environment',
        environment_name: 'staging',
        config: { timeout: 600, retry: { max_attempts: 2 }, team: 'payments' },
      }),
    });
    expect(job.status).toBe(201);
    const { id: jobId } = job.json as Job;
    const triggered = await call('/jobs/{id}/trigger', {
      method: 'POST',
      path: `/jobs/${jobId}/trigger`,
      body: JSON.stringify({ parameters: { branch: 'main', target: 'production' } }),
    });
    expect(triggered.status).toBe(202);
    const [sent] = queue.sent.splice(0);
    if (!sent) throw new Error('The trigger should have queued the run');
    const worker = new RunWorker({
      entities: deps.entities,
      executions: deps.executions,
      queue: deps.queue,
      secrets: deps.secrets,
      invoker: createTargetInvoker({ allowedNetworks: deps.deployment.allowedTargetNetworks }),
      deployment: deps.deployment,
      clock: deps.clock,
      logger: deps.logger,
    });
    const executionPath = `/jobs/${jobId}/executions/${sent.message.execution_id}`;
    const execution = async () =>
      (await call('/jobs/{id}/executions/{eid}', { method: 'GET', path: executionPath })).json as Execution;
    return {
      call,
      worker,
      message: sent.message,
      signingSecret: (entity.json as EntityWithSecret).signing_secret,
      execution,
    };
  }

  it('signs its example as the service signs it, and as Standard Webhooks computes it', async () => {
    // Prepare
    const operation = executionRequestWebhook();
    const headers = Object.fromEntries(
      documentedHeaders().map(({ parameter }) => [parameter.name, String(parameter.example)]),
    );
    const body = operation.requestBody?.content['application/json']?.examples.deploy
      ?.value as ExecutionRequest;
    const signatureDoc = documentedHeaders().find(({ parameter }) => parameter.name === 'webhook-signature');
    const secret =
      /`(whsec_[A-Za-z0-9+/]+={0,2})`/.exec(signatureDoc?.parameter.description ?? '')?.[1] ?? '';
    const signedAt = new Date(Number(headers['webhook-timestamp']) * 1000);
    const agent = await startAgentServer();
    onTestFinished(() => agent.close());
    agent.script({ kind: 'accept' });

    // Act
    const outcome = await invokeHttpTarget({ type: 'http', url: agent.url }, body, {
      signingSecret: secret,
      timeoutMs: 10_000,
      allowedNetworks: ['loopback'],
      now: () => signedAt,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'accepted' });
    expect(agent.requests).toHaveLength(1);
    const [received] = agent.requests as [AgentRequest];
    const sentBody = received.rawBody.toString('utf8');
    expect(sentBody).toBe(JSON.stringify(body));
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    for (const [name, value] of Object.entries(headers)) expect(header(received, name), name).toBe(value);
    expect(new Webhook(secret).sign(body.execution_id, signedAt, sentBody)).toBe(
      headers['webhook-signature'],
    );
  });

  it('is what a real http target receives: the documented headers, a verified signature and a body matching ExecutionRequest', async () => {
    // Prepare
    const agent = await startAgentServer();
    try {
      const run = await triggeredHttpRun(agent.url);
      agent.signingSecret = run.signingSecret;
      agent.script({ kind: 'json', body: { deployed: true, version: '1.4.2' } });

      // Act
      await run.worker.handle(run.message, 60_000);

      // Assess
      expect(agent.requests).toHaveLength(1);
      const [request] = agent.requests as [AgentRequest];
      expect(Object.keys(executionRequestWebhook().requestBody?.content ?? {})).toEqual([
        header(request, 'content-type'),
      ]);
      const headers: Record<string, string> = {};
      for (const { parameter, schema } of documentedHeaders()) {
        const value = header(request, parameter.name);
        if (parameter.required) expect(value, parameter.name).not.toBe('');
        expect(validateAt(schema, value), parameter.name).toEqual([]);
        headers[parameter.name] = value;
      }
      expect(headers['webhook-id']).toBe(run.message.execution_id);
      const body: unknown = JSON.parse(request.rawBody.toString('utf8'));
      // The independent library checks the signature over the raw bytes, and the timestamp's tolerance.
      expect(new Webhook(run.signingSecret).verify(request.rawBody, headers)).toEqual(body);
      expect(validateAt(BODY_SCHEMA, body)).toEqual([]);
      // The optional parts were present, so the schema checked them too.
      expect(body).toMatchObject({
        execution_id: run.message.execution_id,
        entity: { id: 'deploy-agent', type: 'agent', name: 'Deploy agent' },
        trigger_type: 'manual',
        prompt: 'Deploy main to production',
        system_prompt: 'Roll back on any failed health check.',
        config: { timeout: 600, retry: { max_attempts: 2 }, team: 'payments' },
        environment: { name: 'staging', variables: { REGION: 'eu-west-1' } },
        attempt: 1,
      });
      // A 2xx answer is the run's output, as the 200 response says.
      expect(await run.execution()).toMatchObject({
        status: 'succeeded',
        output: { deployed: true, version: '1.4.2' },
      });
    } finally {
      await agent.close();
    }
  });

  it('lets a target that answered 202 finish the run through the documented callback', async () => {
    // Prepare
    const agent = await startAgentServer();
    try {
      const run = await triggeredHttpRun(agent.url);
      agent.signingSecret = run.signingSecret;
      agent.script({ kind: 'accept' });
      await run.worker.handle(run.message, 60_000);
      const [request] = agent.requests as [AgentRequest];
      const { callback } = request.body;

      // Act
      const answer = await run.call(
        '/executions/{id}/callback',
        {
          method: 'POST',
          path: new URL(callback.url).pathname,
          headers: { authorization: `Bearer ${callback.token}` },
          body: JSON.stringify({ status: 'succeeded', output: { deployed: true } }),
        },
        false,
      );

      // Assess
      expect(request.signatureValid).toBe(true);
      expect(new URL(callback.url).pathname).toBe(`/executions/${run.message.execution_id}/callback`);
      expect(answer.status).toBe(200);
      expect(await run.execution()).toMatchObject({ status: 'succeeded', output: { deployed: true } });
    } finally {
      await agent.close();
    }
  });
});

describe('GET /openapi.json', () => {
  it('serves the document without an API key', async () => {
    // Prepare
    const { api } = setup();

    // Act
    const result = await callApi(api, { method: 'GET', path: '/openapi.json' });

    // Assess
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(result.json).toEqual(JSON.parse(JSON.stringify(doc)) as OpenApiDocument);
    expectDocumented('GET', '/openapi.json', result);
  });
});

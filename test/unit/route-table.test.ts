import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it, onTestFinished } from 'vitest';
import type * as z from 'zod/mini';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { previewSchedule } from '../../shared/app/schedule-preview.js';
import { buildOpenApiDocument, type HttpMethod, type Parameter } from '../../shared/http/openapi.js';
import { openApiDocumentFile } from '../../shared/http/openapi-file.js';
import { parseQuery } from '../../shared/http/query.js';
import type { RouteDefinition } from '../../shared/http/route-definition.js';
import { matchRoute, serveRoutes } from '../../shared/http/router.js';
import { API_ROUTES, ROUTES, WEBHOOK_ROUTES } from '../../shared/http/routes/index.js';
import { callApi } from '../support/api-events.js';
import { MemoryApiKeyStore, MemoryAuditLog } from '../support/memory-access.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { testApiHandler } from '../support/services.js';

const API_KEY = 'test-key';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const routes: RouteDefinition[] = Object.values(ROUTES);
const apiRoutes: RouteDefinition[] = Object.values(API_ROUTES);
const doc = buildOpenApiDocument();

/** The API handler over empty in-memory stores. */
function api() {
  const clock = new ManualClock(Date.parse('2025-01-15T09:00:00.000Z'));
  const entities = new MemoryEntityStore();
  const jobs = new MemoryJobStore({ entities });
  return testApiHandler({
    jobStore: jobs,
    webhooks: new MemoryWebhookStore(),
    entities,
    executions: new MemoryExecutionStore(),
    queue: new RecordingQueue(),
    secrets: new FakeSecretBox(),
    deployment: openDeployment(),
    apiKeys: HashedApiKeys.fromKeys([API_KEY]),
    apiKeyStore: new MemoryApiKeyStore(),
    auditLog: new MemoryAuditLog(),
    scheduler: new MemoryScheduler(),
    clock,
    ids: sequentialIds(clock),
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
  });
}

/** A path of the route with each `{name}` filled in. */
const concrete = (route: RouteDefinition) => route.path.replaceAll(/\{(\w+)\}/g, 'x$1');

/** The names a fields schema (params, query, headers) declares. */
const names = (schema: z.ZodMiniObject | undefined) => Object.keys(schema?.shape ?? {});

/** The documented parameters of an operation, by location. */
function documentedParameters(route: RouteDefinition): Record<string, string[]> {
  const operation = doc.paths[route.path]?.[route.method.toLowerCase() as HttpMethod];
  const byLocation: Record<string, string[]> = { path: [], query: [], header: [] };
  for (const item of operation?.parameters ?? []) {
    const parameter = (
      '$ref' in item ? doc.components.parameters[item.$ref.split('/').at(-1) as string] : item
    ) as Parameter;
    byLocation[parameter.in]?.push(parameter.name);
  }
  return byLocation;
}

describe('the route table', () => {
  it('defines each route once, keyed by its operationId, with auth, a summary and its answers', () => {
    // Act
    const keys = Object.entries(ROUTES).map(([key, route]) => [key, route.operationId]);
    const methodsAndPaths = routes.map((route) => `${route.method} ${route.path}`);

    // Assess
    for (const [key, operationId] of keys) expect(operationId).toBe(key);
    expect(new Set(methodsAndPaths).size).toBe(routes.length);
    for (const route of routes) {
      const where = route.operationId;
      expect(['none', 'api-key', 'callback-token', 'webhook-signature'], where).toContain(route.auth);
      expect(route.summary, where).not.toBe('');
      expect(route.description, where).not.toBe('');
      expect(route.errors[500], where).toBeDefined();
      if (route.response.status === 204) expect(route.response.schema, where).toBeUndefined();
      else expect(route.response.schema, where).toBeDefined();
      if (route.auth === 'api-key') expect(route.errors[401], where).toBeDefined();
      for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
        expect(names(route.params), where).toContain(name.slice(1, -1));
      }
    }
  });

  it('reads a body only after authentication on exactly the routes whose service authenticates the caller', () => {
    // Act
    const afterAuth = routes.filter((route) => route.body?.read === 'after-auth').map((r) => r.operationId);
    const selfAuthenticated = routes
      .filter((route) => route.auth === 'callback-token' || route.auth === 'webhook-signature')
      .map((route) => route.operationId);

    // Assess
    expect(afterAuth.sort()).toEqual(selfAuthenticated.sort());
  });

  it('splits into the API function’s routes and the webhook function’s, each once', () => {
    // Act
    const api = Object.keys(API_ROUTES);
    const webhook = Object.keys(WEBHOOK_ROUTES);

    // Assess
    expect([...api, ...webhook].sort()).toEqual(Object.keys(ROUTES).sort());
    expect(api.filter((name) => webhook.includes(name))).toEqual([]);
    expect(Object.values(WEBHOOK_ROUTES).map((route) => route.auth)).toEqual(['webhook-signature']);
  });

  it('is plain data and zod: importing it pulls in no handler, service, adapter or AWS SDK', async () => {
    // Act
    const result = await build({
      entryPoints: [join(ROOT, 'shared/http/routes/index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
    });

    // Assess
    const inputs = Object.keys(result.metafile.inputs).map((input) => relative(ROOT, join(ROOT, input)));
    expect(inputs.filter((input) => /^shared\/(app|adapters|handlers)\//.test(input))).toEqual([]);
    expect(inputs.filter((input) => /@aws-sdk|@middy|zod-openapi/.test(input))).toEqual([]);
  });
});

describe('the router comes from the table', () => {
  it.each(apiRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    'serves %s with the table’s authentication',
    async (_name, route) => {
      // Prepare
      const handler = api();
      const path = concrete(route);

      // Act
      const matched = matchRoute(apiRoutes, route.method, path);
      const anonymous = await callApi(handler, { method: route.method, path });

      // Assess
      expect(matched.route).toBe(route);
      // The router's own 404 names the route it did not find; 405 means the method was not matched.
      expect(anonymous.status, route.operationId).not.toBe(405);
      expect(JSON.stringify(anonymous.json)).not.toContain('No route for');
      const message = (anonymous.json as { error?: { message: string } } | undefined)?.error?.message;
      if (route.auth === 'none') expect(anonymous.status, route.operationId).toBe(200);
      if (route.auth === 'api-key') expect(message, route.operationId).toMatch(/valid API key is required/);
      // Its service checks the token, and answers alike for a missing one and an unknown execution.
      if (route.auth === 'callback-token') expect(message, route.operationId).toMatch(/callback token/);
    },
  );

  it('refuses to serve a table with a route that has no handler', () => {
    // Act
    const serve = () =>
      serveRoutes(API_ROUTES, {} as Parameters<typeof serveRoutes<typeof API_ROUTES>>[1], {
        callers: { apiKeys: HashedApiKeys.fromKeys([API_KEY]) },
      });

    // Assess
    expect(serve).toThrow(/No handler for route getHealth/);
  });

  it('answers 404 and 405 for what the table does not have', async () => {
    // Prepare
    const handler = api();

    // Act
    const unknown = await callApi(handler, { method: 'GET', path: '/nowhere' });
    const wrongMethod = await callApi(handler, { method: 'PUT', path: '/entities/x' });

    // Assess
    expect(unknown.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
  });
});

describe('request validation comes from the table', () => {
  it.each(
    apiRoutes
      .filter((route) => route.query)
      .map((route) => [`${route.method} ${route.path}`, route] as const),
  )('refuses an unknown query parameter on %s, naming it', async (_name, route) => {
    // Prepare
    const handler = api();

    // Act
    const result = await callApi(handler, {
      method: route.method,
      path: concrete(route),
      headers: { authorization: `Bearer ${API_KEY}` },
      query: route.path === '/cron/preview' ? { expression: '0 9 * * *', nope: '1' } : { nope: '1' },
    });

    // Assess
    expect(result.status).toBe(422);
    expect((result.json as { error: { details: unknown[] } }).error.details).toEqual([
      { path: 'nope', message: expect.stringMatching(/^is not a known/), code: 'unknown_field' },
    ]);
  });

  it.each(
    apiRoutes
      .filter((route) => route.body?.required && route.auth === 'api-key')
      .map((route) => [`${route.method} ${route.path}`, route] as const),
  )('refuses an empty body on %s before its handler runs (400)', async (_name, route) => {
    // Prepare
    const handler = api();

    // Act
    const result = await callApi(handler, {
      method: route.method,
      path: concrete(route),
      headers: { authorization: `Bearer ${API_KEY}` },
      body: '',
    });

    // Assess
    expect(result.status).toBe(400);
    expect((result.json as { error: { code: string } }).error.code).toBe('invalid_body');
  });

  it('reads query values as the document promises: defaults, whole numbers, booleans', () => {
    // Act
    const jobs = parseQuery(API_ROUTES.listJobs.query, { enabled: 'False', limit: '7' });
    const history = parseQuery(API_ROUTES.getExecutions.query, {});
    const preview = parseQuery(API_ROUTES.previewSchedule.query, { expression: '0 9 * * *' });

    // Assess
    expect(jobs).toEqual({ enabled: false, limit: 7 });
    expect(history).toEqual({ limit: 50, offset: 0 });
    expect(preview).toEqual({ expression: '0 9 * * *', timezone: 'UTC', count: 10 });
  });
});

describe('the OpenAPI document comes from the table', () => {
  it('has exactly the table’s paths, methods, operationIds and SDK methods', () => {
    // Act
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path}`,
        operationId: operation.operationId,
        sdkMethod: operation['x-sdk-method'],
      })),
    );

    // Assess
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    expect(documented.sort(byKey)).toEqual(
      routes
        .map((route) => ({
          key: `${route.method} ${route.path}`,
          operationId: route.operationId,
          sdkMethod: route.sdkMethod,
        }))
        .sort(byKey),
    );
  });

  it.each(routes.map((route) => [route.operationId, route] as const))(
    'documents %s with the table’s parameters, body, answers and security',
    (_name, route) => {
      // Prepare
      const operation = doc.paths[route.path]?.[route.method.toLowerCase() as HttpMethod];

      // Act
      const parameters = documentedParameters(route);

      // Assess
      expect(parameters).toEqual({
        path: names(route.params),
        query: names(route.query),
        header: names(route.headers),
      });
      expect(operation?.requestBody?.required).toBe(route.body?.required);
      expect(Object.keys(operation?.responses ?? {}).sort()).toEqual(
        [String(route.response.status), ...Object.keys(route.errors)].sort(),
      );
      const security = operation?.security ?? doc.security;
      expect(security).toEqual(
        {
          'api-key': [{ apiKey: [] }],
          none: [],
          'callback-token': [{ callbackToken: [] }],
          'webhook-signature': [],
        }[route.auth],
      );
    },
  );

  it('shows the preview the service computes for the documented parameters', () => {
    // Prepare
    const documented = doc.paths['/cron/preview']?.get?.responses[200];
    const media =
      documented && 'content' in documented ? documented.content?.['application/json'] : undefined;

    // Act
    const computed = previewSchedule(
      parseQuery(API_ROUTES.previewSchedule.query, {
        expression: '30 1 * * *',
        timezone: 'Europe/London',
        count: '3',
      }),
      new Date('2025-03-28T12:00:00.000Z'),
    );

    // Assess
    expect(media?.examples.spring_forward?.value).toEqual(computed);
  });
});

describe('GET /openapi.json serves the committed file', () => {
  it('reads the file once, on the first request, and serves those bytes', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'openapi-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'openapi.json');
    await writeFile(file, '{"openapi":"3.1.0","first":true}\n');
    const read = openApiDocumentFile(file);

    // Act
    const first = await read();
    await writeFile(file, '{"openapi":"3.1.0","first":false}\n');
    const second = await read();

    // Assess
    expect(first).toBe('{"openapi":"3.1.0","first":true}\n');
    expect(second).toBe(first);
  });

  it('is served from the deployment’s copy, as it is', async () => {
    // Prepare
    const text = '{"openapi": "3.1.0", "info": {"title": "copy"}, "paths": {}}';
    const base = api();
    const clock = new ManualClock(0);
    const entities = new MemoryEntityStore();
    const jobs = new MemoryJobStore({ entities });
    const handler = testApiHandler({
      jobStore: jobs,
      webhooks: new MemoryWebhookStore(),
      entities,
      executions: new MemoryExecutionStore(),
      queue: new RecordingQueue(),
      secrets: new FakeSecretBox(),
      deployment: openDeployment(),
      apiKeys: HashedApiKeys.fromKeys([API_KEY]),
      apiKeyStore: new MemoryApiKeyStore(),
      auditLog: new MemoryAuditLog(),
      scheduler: new MemoryScheduler(),
      clock,
      ids: sequentialIds(clock),
      logger: createLogger({ level: 'silent' }),
      metrics: new RecordingMetrics(),
      openApiDocument: async () => text,
    });

    // Act
    const served = await callApi(handler, { method: 'GET', path: '/openapi.json' });
    const committed = await callApi(base, { method: 'GET', path: '/openapi.json' });

    // Assess
    expect(served.status).toBe(200);
    expect(served.body).toBe(text);
    expect(committed.json).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('does not bundle the document’s generator into the API function', async () => {
    // Act
    const result = await build({
      entryPoints: [join(ROOT, 'shared/http/api-handler.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
      external: ['@aws-sdk/*'],
    });

    // Assess
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((input) => /zod-openapi|shared\/http\/openapi(\.ts|\/)/.test(input))).toEqual([]);
  });
});

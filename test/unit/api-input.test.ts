import { describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds } from '../../shared/adapters/system.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import type { Job } from '../../shared/domain/job.js';
import { type ApiEventInput, type ApiResult, callApi } from '../support/api-events.js';
import { MemoryApiKeyStore, MemoryAuditLog } from '../support/memory-access.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  makeEntity,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
} from '../support/memory-stores.js';
import { testApiHandler } from '../support/services.js';

/** What the control plane reads from requests: content types, strings, HEAD and query names. */

const API_KEY = 'test-key';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const MANUAL = { name: 'Manual job', trigger_type: 'manual', prompt_template: 'Do the thing' };

interface ErrorBody {
  code: string;
  message: string;
  details: ErrorDetail[];
}

/** A handler over in-memory stores with a default echo entity. */
async function setup() {
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo-default', default: true }), null);
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
    clock: { now: () => new Date('2025-01-15T09:00:00.000Z') },
    ids: randomIds,
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
  });
  const authed = (input: ApiEventInput) =>
    callApi(handler, { ...input, headers: { ...AUTH, ...input.headers } });
  const create = async (): Promise<Job> => {
    const result = await authed({ method: 'POST', path: '/jobs', body: JSON.stringify(MANUAL) });
    expect(result.status).toBe(201);
    return result.json as Job;
  };
  return { authed, create, call: (input: ApiEventInput) => callApi(handler, input) };
}

function errorOf(result: ApiResult): ErrorBody {
  return (result.json as { error: ErrorBody }).error;
}

describe('request bodies must be JSON', () => {
  const refused: [string, { headers?: Record<string, string>; omitContentType?: boolean }][] = [
    ['text/plain', { headers: { 'content-type': 'text/plain;charset=UTF-8' } }],
    ['XML', { headers: { 'content-type': 'application/xml' } }],
    ['multipart', { headers: { 'content-type': 'multipart/form-data; boundary=x' } }],
    ['a form', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
    ['no content type', { omitContentType: true }],
  ];

  it.each(refused)('answers 415 to a create sent as %s, naming the header', async (_name, init) => {
    // Prepare
    const api = await setup();

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body: JSON.stringify(MANUAL), ...init });

    // Assess
    expect(result.status).toBe(415);
    expect(errorOf(result)).toEqual({
      code: 'unsupported_media_type',
      message: expect.stringContaining('application/json'),
      details: [
        { path: 'Content-Type', message: 'must be application/json', code: 'unsupported_media_type' },
      ],
    });
  });

  it('answers 415 on every route that reads a JSON body', async () => {
    // Prepare
    const api = await setup();
    const job = await api.create();
    const text = { 'content-type': 'text/plain' };
    const requests: ApiEventInput[] = [
      { method: 'POST', path: '/jobs', body: JSON.stringify(MANUAL) },
      { method: 'PATCH', path: `/jobs/${job.id}`, body: '{"enabled":false}' },
      { method: 'POST', path: `/jobs/${job.id}/trigger`, body: '{"parameters":{}}' },
      { method: 'POST', path: `/jobs/${job.id}/webhook-secret/rotate`, body: '{"grace_seconds":0}' },
      { method: 'POST', path: '/entities', body: '{"id":"e","type":"agent","name":"E"}' },
      { method: 'PATCH', path: '/entities/echo-default', body: '{"name":"x"}' },
    ];

    // Act
    const statuses = await Promise.all(
      requests.map(async (request) => (await api.authed({ ...request, headers: text })).status),
    );

    // Assess
    expect(statuses).toEqual(requests.map(() => 415));
    expect((await api.authed({ method: 'GET', path: `/jobs/${job.id}` })).json).toMatchObject({
      enabled: true,
    });
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset=UTF-8',
    'application/merge-patch+json',
    'application/vnd.api+json; charset=utf-8',
  ])('accepts a body sent as %s', async (contentType) => {
    // Prepare
    const api = await setup();

    // Act
    const result = await api.authed({
      method: 'POST',
      path: '/jobs',
      body: JSON.stringify(MANUAL),
      headers: { 'content-type': contentType },
    });

    // Assess
    expect(result.status).toBe(201);
  });

  it('still takes bodyless actions and an empty trigger without a content type', async () => {
    // Prepare
    const api = await setup();
    const job = await api.create();

    // Act
    const disabled = await api.authed({ method: 'POST', path: `/jobs/${job.id}/disable` });
    const enabled = await api.authed({ method: 'POST', path: `/jobs/${job.id}/enable` });
    const triggered = await api.authed({ method: 'POST', path: `/jobs/${job.id}/trigger` });
    const emptyBody = await api.authed({
      method: 'POST',
      path: `/jobs/${job.id}/trigger`,
      body: '',
      omitContentType: true,
    });

    // Assess
    expect([disabled.status, enabled.status, triggered.status, emptyBody.status]).toEqual([
      200, 200, 202, 202,
    ]);
  });
});

describe('strings must be valid Unicode', () => {
  it.each([
    ['a job name', `{"name":"\\ud800","trigger_type":"manual","prompt_template":"p"}`, 'name'],
    [
      'a trailing low surrogate',
      `{"name":"ok\\udfff","trigger_type":"manual","prompt_template":"p"}`,
      'name',
    ],
    [
      'a value deep in config',
      `{"name":"n","trigger_type":"manual","prompt_template":"p","config":{"a":[1,{"b":"x\\ud83dy"}]}}`,
      'config.a[1].b',
    ],
    [
      'an object key',
      `{"name":"n","trigger_type":"manual","prompt_template":"p","config":{"k\\udc00":1}}`,
      'config.k\ufffd',
    ],
  ])('refuses a lone surrogate in %s with a 422 naming the field', async (_name, body, path) => {
    // Prepare
    const api = await setup();

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body });
    const listed = await api.authed({ method: 'GET', path: '/jobs' });

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details).toEqual([
      { path, message: expect.stringContaining('surrogate'), code: 'invalid_string' },
    ]);
    expect((listed.json as { jobs: Job[] }).jobs).toEqual([]);
  });

  it('accepts surrogate pairs, escaped or not', async () => {
    // Prepare
    const api = await setup();

    // Act
    const result = await api.authed({
      method: 'POST',
      path: '/jobs',
      body: `{"name":"\\ud83d\\ude00 and 😀","trigger_type":"manual","prompt_template":"p"}`,
    });

    // Assess
    expect(result.status).toBe(201);
    expect((result.json as Job).name).toBe('😀 and 😀');
  });

  it('refuses a lone surrogate in a PATCH, a trigger and an entity too', async () => {
    // Prepare
    const api = await setup();
    const job = await api.create();

    // Act
    const results = await Promise.all([
      api.authed({ method: 'PATCH', path: `/jobs/${job.id}`, body: '{"description":"\\ud800"}' }),
      api.authed({ method: 'POST', path: `/jobs/${job.id}/trigger`, body: '{"parameters":{"x":"\\udbff"}}' }),
      api.authed({ method: 'POST', path: '/entities', body: '{"id":"e","type":"agent","name":"\\udc00"}' }),
    ]);

    // Assess
    expect(results.map((result) => [result.status, errorOf(result).details[0]?.path])).toEqual([
      [422, 'description'],
      [422, 'parameters.x'],
      [422, 'name'],
    ]);
  });

  it('walks a body nested thousands deep without failing', async () => {
    // Prepare
    const api = await setup();
    const depth = 50_000;

    // Act
    const result = await api.authed({
      method: 'POST',
      path: '/jobs',
      body: `{"name":${'['.repeat(depth)}"\\ud800"${']'.repeat(depth)}}`,
    });

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details[0]?.path).toBe(`name${'[0]'.repeat(depth)}`);
  });
});

describe('HEAD', () => {
  it('answers as GET on every GET route, with the same status and headers and no body', async () => {
    // Prepare
    const api = await setup();
    const job = await api.create();
    const paths = [
      '/health',
      '/jobs',
      `/jobs/${job.id}`,
      `/jobs/${job.id}/executions`,
      '/entities',
      '/entities/echo-default',
      '/cron/preview?expression=0%209%20*%20*%20*',
      '/openapi.json',
      '/jobs/job_550e8400-e29b-41d4-a716-446655440000',
      '/jobs?limit=0',
    ];

    for (const path of paths) {
      const [pathname, search] = path.split('?') as [string, string | undefined];
      const query = search ? Object.fromEntries(new URLSearchParams(search)) : undefined;
      // Act
      const get = await api.authed({ method: 'GET', path: pathname, ...(query && { query }) });
      const head = await api.authed({ method: 'HEAD', path: pathname, ...(query && { query }) });

      // Assess
      expect(head.status, path).toBe(get.status);
      expect(head.body, path).toBe('');
      expect(head.headers, path).toEqual({
        ...get.headers,
        'content-length': String(Buffer.byteLength(get.body, 'utf8')),
      });
    }
  });

  it('asks for the API key as GET does', async () => {
    // Prepare
    const api = await setup();

    // Act
    const head = await api.call({ method: 'HEAD', path: '/jobs' });

    // Assess
    expect(head.status).toBe(401);
    expect(head.headers['www-authenticate']).toBe('Bearer');
    expect(head.body).toBe('');
  });

  it('is a 405 where the path has no GET, and Allow lists HEAD wherever it lists GET', async () => {
    // Prepare
    const api = await setup();
    const job = await api.create();

    // Act
    const onAction = await api.authed({ method: 'HEAD', path: `/jobs/${job.id}/enable` });
    const wrongMethod = await api.authed({ method: 'PUT', path: `/jobs/${job.id}` });

    // Assess
    expect(onAction.status).toBe(405);
    expect(onAction.headers.allow).toBe('POST');
    expect(onAction.body).toBe('');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow?.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PATCH']);
  });
});

describe('query parameter names', () => {
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
  it.each(names)('refuses %s as an unknown parameter on every list and the preview', async (name) => {
    // Prepare
    const api = await setup();
    const job = await api.create();
    // A computed key: `{ __proto__: … }` would set the prototype instead of adding the parameter.
    const query = { [name]: 'x' };
    const paths = ['/jobs', '/entities', `/jobs/${job.id}/executions`];

    // Act
    const results = [
      ...(await Promise.all(paths.map((path) => api.authed({ method: 'GET', path, query })))),
      await api.authed({
        method: 'GET',
        path: '/cron/preview',
        query: { expression: '0 9 * * *', [name]: 'x' },
      }),
    ];

    // Assess
    for (const result of results) {
      expect(result.status).toBe(422);
      expect(errorOf(result).details).toEqual([
        { path: name, message: expect.stringMatching(/^is not a known/), code: 'unknown_field' },
      ]);
    }
  });
});

describe('execution history offset', () => {
  it('refuses an offset past 1000 with a 422 naming the cap and pointing at cursor', async () => {
    // Prepare
    const api = await setup();
    const job = await api.create();

    // Act
    const deepest = await api.authed({
      method: 'GET',
      path: `/jobs/${job.id}/executions`,
      query: { offset: '1000' },
    });
    const deeper = await api.authed({
      method: 'GET',
      path: `/jobs/${job.id}/executions`,
      query: { offset: '1001' },
    });

    // Assess
    expect(deepest.status).toBe(200);
    expect(deeper.status).toBe(422);
    const error = errorOf(deeper);
    expect(error.details).toEqual([
      { path: 'offset', message: expect.stringContaining('from 0 to 1000'), code: 'invalid' },
    ]);
    expect(error.message).toContain('cursor');
    expect(error.message).toContain('1000');
  });
});

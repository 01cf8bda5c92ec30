import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRetryAfter } from '../../sdk/http.js';
import {
  AuthError,
  ConflictError,
  ControlPlaneClient,
  type ControlPlaneClientOptions,
  JobError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  signWebhookPayload,
  standardWebhookHeaders,
  TimeoutError,
  ValidationError,
} from '../../sdk/index.js';

const BASE_URL = 'https://jobs.example.test/v1';
const API_KEY = 'sk_test_123';

/** A request as the fake `fetch` received it; header names lower-cased, the body as text. */
interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** What the fake `fetch` does for one request: answer, throw, or never answer (until aborted). */
type Reply = (() => Response) | Error | 'hang';

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Reply =>
  () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
const empty =
  (status: number): Reply =>
  () =>
    new Response(null, { status });
const text =
  (status: number, body: string): Reply =>
  () =>
    new Response(body, { status });
const apiError = (status: number, code: string, message: string, details: unknown[] = []) =>
  json(status, { error: { code, message, details } });

/**
 * A client whose `fetch` answers with `replies` in order (the last one repeats), recording every request,
 * and whose retries wait for nothing: the waits are recorded in `sleeps`.
 */
function clientWith(replies: Reply[], options: ControlPlaneClientOptions = {}) {
  const sent: SentRequest[] = [];
  const sleeps: number[] = [];
  const fakeFetch: typeof fetch = async (input, init) => {
    const body = init?.body;
    sent.push({
      method: init?.method ?? 'GET',
      url: String(input),
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body:
        body === undefined || body === null
          ? undefined
          : body instanceof Uint8Array
            ? new TextDecoder().decode(body)
            : String(body),
    });
    const reply = replies[Math.min(sent.length - 1, replies.length - 1)];
    if (reply === undefined) throw new Error('The test scripted no reply.');
    if (reply instanceof Error) throw reply;
    if (reply === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }
    return reply();
  };
  const client = new ControlPlaneClient({
    baseUrl: BASE_URL,
    apiKey: API_KEY,
    fetch: fakeFetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, sent, sleeps };
}

async function rejection(call: Promise<unknown>): Promise<JobError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof JobError) return error;
    throw error;
  }
  throw new Error('Expected the call to fail with a JobError.');
}

const AUTH = { authorization: `Bearer ${API_KEY}`, accept: 'application/json' };
const AUTH_JSON = { ...AUTH, 'content-type': 'application/json' };

describe('ControlPlaneClient: the request each method sends', () => {
  const job = { id: 'job_1', name: 'n' };
  const execution = { execution_id: 'exec_1', status: 'queued' };
  const triggered = { workflow_id: 'wf_1', execution_id: 'exec_1', status: 'queued' };
  const entity = { id: 'agent-1', name: 'Agent' };

  it.each<{
    name: string;
    call: (client: ControlPlaneClient) => Promise<unknown>;
    reply: Reply;
    expected: SentRequest;
    result: unknown;
  }>([
    {
      name: 'jobs.listPage',
      call: (c) => c.jobs.listPage({ enabled: false, trigger_type: 'cron', limit: 5, cursor: 'abc' }),
      reply: json(200, { jobs: [job], next_cursor: null }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/jobs?enabled=false&trigger_type=cron&limit=5&cursor=abc`,
        headers: AUTH,
        body: undefined,
      },
      result: { jobs: [job], next_cursor: null },
    },
    {
      name: 'jobs.get',
      call: (c) => c.jobs.get('job/1 x'),
      reply: json(200, job),
      expected: { method: 'GET', url: `${BASE_URL}/jobs/job%2F1%20x`, headers: AUTH, body: undefined },
      result: job,
    },
    {
      name: 'jobs.create',
      call: (c) => c.jobs.create({ name: 'n', trigger_type: 'manual', prompt_template: 'p' }),
      reply: json(201, job),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/jobs`,
        headers: AUTH_JSON,
        body: '{"name":"n","trigger_type":"manual","prompt_template":"p"}',
      },
      result: job,
    },
    {
      name: 'jobs.update',
      call: (c) => c.jobs.update('job_1', { description: null, enabled: false }),
      reply: json(200, job),
      expected: {
        method: 'PATCH',
        url: `${BASE_URL}/jobs/job_1`,
        headers: AUTH_JSON,
        body: '{"description":null,"enabled":false}',
      },
      result: job,
    },
    {
      name: 'jobs.delete',
      call: (c) => c.jobs.delete('job_1'),
      reply: empty(204),
      expected: { method: 'DELETE', url: `${BASE_URL}/jobs/job_1`, headers: AUTH, body: undefined },
      result: undefined,
    },
    {
      name: 'jobs.enable',
      call: (c) => c.jobs.enable('job_1'),
      reply: json(200, job),
      expected: { method: 'POST', url: `${BASE_URL}/jobs/job_1/enable`, headers: AUTH, body: undefined },
      result: job,
    },
    {
      name: 'jobs.disable',
      call: (c) => c.jobs.disable('job_1'),
      reply: json(200, job),
      expected: { method: 'POST', url: `${BASE_URL}/jobs/job_1/disable`, headers: AUTH, body: undefined },
      result: job,
    },
    {
      name: 'jobs.trigger without options',
      call: (c) => c.jobs.trigger('job_1'),
      reply: json(202, triggered),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/jobs/job_1/trigger`,
        headers: AUTH_JSON,
        body: '{"parameters":{}}',
      },
      result: triggered,
    },
    {
      name: 'jobs.trigger with parameters, config_override and an idempotency key',
      call: (c) =>
        c.jobs.trigger('job_1', {
          parameters: { db: 'orders' },
          config_override: { timeout: 60 },
          idempotency_key: 'deploy-42',
        }),
      reply: json(202, triggered),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/jobs/job_1/trigger`,
        headers: { ...AUTH_JSON, 'idempotency-key': 'deploy-42' },
        body: '{"parameters":{"db":"orders"},"config_override":{"timeout":60}}',
      },
      result: triggered,
    },
    {
      name: 'jobs.getExecutions',
      call: (c) => c.jobs.getExecutions('job_1', { limit: 10, offset: 20 }),
      reply: json(200, { total_count: 0, executions: [], next_cursor: null }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/jobs/job_1/executions?limit=10&offset=20`,
        headers: AUTH,
        body: undefined,
      },
      result: { total_count: 0, executions: [], next_cursor: null },
    },
    {
      name: 'jobs.get_executions',
      call: (c) => c.jobs.get_executions('job_1', { cursor: 'c1' }),
      reply: json(200, { total_count: 0, executions: [], next_cursor: null }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/jobs/job_1/executions?cursor=c1`,
        headers: AUTH,
        body: undefined,
      },
      result: { total_count: 0, executions: [], next_cursor: null },
    },
    {
      name: 'jobs.getExecution',
      call: (c) => c.jobs.getExecution('job_1', 'exec_1'),
      reply: json(200, execution),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/jobs/job_1/executions/exec_1`,
        headers: AUTH,
        body: undefined,
      },
      result: execution,
    },
    {
      name: 'jobs.cancelExecution',
      call: (c) => c.jobs.cancelExecution('job_1', 'exec_1'),
      reply: json(200, execution),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/jobs/job_1/executions/exec_1/cancel`,
        headers: AUTH,
        body: undefined,
      },
      result: execution,
    },
    {
      name: 'jobs.replayExecution',
      call: (c) => c.jobs.replayExecution('job_1', 'exec_1'),
      reply: json(202, triggered),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/jobs/job_1/executions/exec_1/replay`,
        headers: AUTH,
        body: undefined,
      },
      result: triggered,
    },
    {
      name: 'jobs.replayExecution with an idempotency key',
      call: (c) => c.jobs.replayExecution('job_1', 'exec_1', { idempotency_key: 'fix-1' }),
      reply: json(202, triggered),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/jobs/job_1/executions/exec_1/replay`,
        headers: { ...AUTH, 'idempotency-key': 'fix-1' },
        body: undefined,
      },
      result: triggered,
    },
    {
      name: 'executions.listRecent with statuses, a job and a page',
      call: (c) =>
        c.executions.listRecent({
          status: ['failed', 'timed_out'],
          job_id: 'job_1',
          limit: 20,
          cursor: 'c1',
        }),
      reply: json(200, { executions: [execution], next_cursor: null }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/executions?job_id=job_1&limit=20&cursor=c1&status=failed%2Ctimed_out`,
        headers: AUTH,
        body: undefined,
      },
      result: { executions: [execution], next_cursor: null },
    },
    {
      name: 'executions.listRecent with one status',
      call: (c) => c.executions.listRecent({ status: 'cancelled' }),
      reply: json(200, { executions: [], next_cursor: null }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/executions?status=cancelled`,
        headers: AUTH,
        body: undefined,
      },
      result: { executions: [], next_cursor: null },
    },
    {
      name: 'executions.listRecent with nothing',
      call: (c) => c.executions.listRecent({ status: [] }),
      reply: json(200, { executions: [], next_cursor: null }),
      expected: { method: 'GET', url: `${BASE_URL}/executions`, headers: AUTH, body: undefined },
      result: { executions: [], next_cursor: null },
    },
    {
      name: 'jobs.rotateWebhookSecret',
      call: (c) => c.jobs.rotateWebhookSecret('job_1', { grace_seconds: 0 }),
      reply: json(200, { webhook_secret: 's' }),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/jobs/job_1/webhook-secret/rotate`,
        headers: AUTH_JSON,
        body: '{"grace_seconds":0}',
      },
      result: { webhook_secret: 's' },
    },
    {
      name: 'jobs.previewSchedule',
      call: (c) => c.jobs.previewSchedule('0 9 * * 1-5', 'Europe/Paris', 3),
      reply: json(200, { fires: [] }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/cron/preview?expression=0+9+*+*+1-5&timezone=Europe%2FParis&count=3`,
        headers: AUTH,
        body: undefined,
      },
      result: { fires: [] },
    },
    {
      name: 'jobs.triggerWebhook with a hex signature and a delivery id (no API key)',
      call: (c) =>
        c.jobs.triggerWebhook({
          webhook_path: 'hook-1',
          payload: { parameters: { a: 1 } },
          signature: 'abc123',
          delivery_id: 'd-1',
        }),
      reply: json(202, triggered),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/webhooks/hook-1`,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'x-webhook-signature': 'abc123',
          'x-webhook-id': 'd-1',
        },
        body: '{"parameters":{"a":1}}',
      },
      result: triggered,
    },
    {
      name: 'jobs.trigger_webhook with bytes, sent as they are',
      call: (c) =>
        c.jobs.trigger_webhook({
          webhook_path: 'hook-1',
          payload: new TextEncoder().encode('{"parameters": {}}'),
          signature: 'abc123',
        }),
      reply: json(202, triggered),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/webhooks/hook-1`,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'x-webhook-signature': 'abc123',
        },
        body: '{"parameters": {}}',
      },
      result: triggered,
    },
    {
      name: 'entities.listPage',
      call: (c) => c.entities.listPage({ limit: 2, cursor: 'e1' }),
      reply: json(200, { entities: [entity], next_cursor: null }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/entities?limit=2&cursor=e1`,
        headers: AUTH,
        body: undefined,
      },
      result: { entities: [entity], next_cursor: null },
    },
    {
      name: 'entities.get',
      call: (c) => c.entities.get('agent-1'),
      reply: json(200, entity),
      expected: { method: 'GET', url: `${BASE_URL}/entities/agent-1`, headers: AUTH, body: undefined },
      result: entity,
    },
    {
      name: 'entities.create',
      call: (c) => c.entities.create({ type: 'agent', name: 'Agent', target: { type: 'echo' } }),
      reply: json(201, entity),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/entities`,
        headers: AUTH_JSON,
        body: '{"type":"agent","name":"Agent","target":{"type":"echo"}}',
      },
      result: entity,
    },
    {
      name: 'entities.update',
      call: (c) => c.entities.update('agent-1', { name: 'Renamed' }),
      reply: json(200, entity),
      expected: {
        method: 'PATCH',
        url: `${BASE_URL}/entities/agent-1`,
        headers: AUTH_JSON,
        body: '{"name":"Renamed"}',
      },
      result: entity,
    },
    {
      name: 'entities.delete',
      call: (c) => c.entities.delete('agent-1'),
      reply: empty(204),
      expected: { method: 'DELETE', url: `${BASE_URL}/entities/agent-1`, headers: AUTH, body: undefined },
      result: undefined,
    },
    {
      name: 'executions.callback (the callback token, not the API key)',
      call: (c) => c.executions.callback('exec_1', 'cb-token', { status: 'succeeded', output: { ok: true } }),
      reply: json(200, execution),
      expected: {
        method: 'POST',
        url: `${BASE_URL}/executions/exec_1/callback`,
        headers: {
          authorization: 'Bearer cb-token',
          accept: 'application/json',
          'content-type': 'application/json',
        },
        body: '{"status":"succeeded","output":{"ok":true}}',
      },
      result: execution,
    },
    {
      name: 'health (no API key)',
      call: (c) => c.health(),
      reply: json(200, { status: 'ok' }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/health`,
        headers: { accept: 'application/json' },
        body: undefined,
      },
      result: { status: 'ok' },
    },
    {
      name: 'openApiDocument (no API key)',
      call: (c) => c.openApiDocument(),
      reply: json(200, { openapi: '3.1.0' }),
      expected: {
        method: 'GET',
        url: `${BASE_URL}/openapi.json`,
        headers: { accept: 'application/json' },
        body: undefined,
      },
      result: { openapi: '3.1.0' },
    },
  ])('$name', async ({ call, reply, expected, result }) => {
    // Prepare
    const { client, sent } = clientWith([reply]);

    // Act
    const answer = await call(client);

    // Assess
    expect(sent).toEqual([expected]);
    expect(answer).toEqual(result);
  });

  it('jobs.list follows next_cursor through every page, with the filters on each', async () => {
    // Prepare
    const { client, sent } = clientWith([
      json(200, { jobs: [{ id: 'job_3' }, { id: 'job_2' }], next_cursor: 'c1' }),
      json(200, { jobs: [{ id: 'job_1' }], next_cursor: null }),
    ]);

    // Act
    const jobs = await client.jobs.list({ trigger_type: 'webhook' });

    // Assess
    expect(jobs.map((job) => job.id)).toEqual(['job_3', 'job_2', 'job_1']);
    expect(sent.map((request) => request.url)).toEqual([
      `${BASE_URL}/jobs?trigger_type=webhook&limit=100`,
      `${BASE_URL}/jobs?trigger_type=webhook&limit=100&cursor=c1`,
    ]);
  });

  it('entities.list follows next_cursor through every page', async () => {
    // Prepare
    const { client, sent } = clientWith([
      json(200, { entities: [{ id: 'b' }], next_cursor: 'e1' }),
      json(200, { entities: [{ id: 'a' }], next_cursor: null }),
    ]);

    // Act
    const entities = await client.entities.list();

    // Assess
    expect(entities.map((entity) => entity.id)).toEqual(['b', 'a']);
    expect(sent.map((request) => request.url)).toEqual([
      `${BASE_URL}/entities?limit=100`,
      `${BASE_URL}/entities?limit=100&cursor=e1`,
    ]);
  });

  it('sends a Standard Webhooks delivery with its headers and no X-Webhook-Signature', async () => {
    // Prepare
    const { client, sent } = clientWith([json(202, {})]);
    const signed = standardWebhookHeaders({ parameters: {} }, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', {
      id: 'msg_1',
      timestamp: new Date('2026-01-01T00:00:00Z'),
    });

    // Act
    await client.jobs.triggerWebhook({
      webhook_path: 'hook-1',
      payload: signed.body,
      headers: signed.headers,
    });

    // Assess
    expect(sent[0]?.headers).toEqual({
      accept: 'application/json',
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1767225600',
      'webhook-signature': signed.headers['webhook-signature'],
    });
    expect(sent[0]?.body).toBe('{"parameters":{}}');
  });
});

describe('ControlPlaneClient: jobs.iterateExecutions', () => {
  const page = (ids: string[], next: string | null) =>
    json(200, {
      total_count: 5,
      executions: ids.map((execution_id) => ({ execution_id })),
      next_cursor: next,
    });

  it('yields every execution across 3 pages, following next_cursor', async () => {
    // Prepare
    const { client, sent } = clientWith([
      page(['e5', 'e4'], 'c1'),
      page(['e3', 'e2'], 'c2'),
      page(['e1'], null),
    ]);

    // Act
    const seen: string[] = [];
    for await (const execution of client.jobs.iterateExecutions('job_1', { pageSize: 2 })) {
      seen.push(execution.execution_id);
    }

    // Assess
    expect(seen).toEqual(['e5', 'e4', 'e3', 'e2', 'e1']);
    expect(sent.map((request) => request.url)).toEqual([
      `${BASE_URL}/jobs/job_1/executions?limit=2`,
      `${BASE_URL}/jobs/job_1/executions?limit=2&cursor=c1`,
      `${BASE_URL}/jobs/job_1/executions?limit=2&cursor=c2`,
    ]);
  });

  it('fetches a page only when the loop asks for it', async () => {
    // Prepare
    const { client, sent } = clientWith([page(['e5', 'e4'], 'c1'), page(['e3', 'e2'], 'c2')]);

    // Act
    const seen: string[] = [];
    for await (const execution of client.jobs.iterateExecutions('job_1')) {
      seen.push(execution.execution_id);
      if (seen.length === 2) break;
    }

    // Assess
    expect(seen).toEqual(['e5', 'e4']);
    expect(sent.map((request) => request.url)).toEqual([`${BASE_URL}/jobs/job_1/executions?limit=100`]);
  });

  it('reports a service that answers the same cursor again instead of looping for ever', async () => {
    // Prepare
    const { client, sent } = clientWith([page(['e5'], 'c1'), page(['e4'], 'c1')]);

    // Act
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const execution of client.jobs.iterateExecutions('job_1'))
          seen.push(execution.execution_id);
      })(),
    );

    // Assess
    expect(error).toMatchObject({ code: 'invalid_response' });
    expect(seen).toEqual(['e5', 'e4']);
    expect(sent).toHaveLength(2);
  });
});

describe('ControlPlaneClient: executions.iterateRecent', () => {
  it('yields the runs of every page with the filters on each, following next_cursor', async () => {
    // Prepare
    const page = (ids: string[], next: string | null) =>
      json(200, { executions: ids.map((execution_id) => ({ execution_id })), next_cursor: next });
    // A bounded read may answer an empty page that still has a cursor.
    const { client, sent } = clientWith([page(['e3', 'e2'], 'c1'), page([], 'c2'), page(['e1'], null)]);

    // Act
    const seen: string[] = [];
    for await (const execution of client.executions.iterateRecent({ status: 'failed', pageSize: 2 })) {
      seen.push(execution.execution_id);
    }

    // Assess
    expect(seen).toEqual(['e3', 'e2', 'e1']);
    expect(sent.map((request) => request.url)).toEqual([
      `${BASE_URL}/executions?limit=2&status=failed`,
      `${BASE_URL}/executions?limit=2&cursor=c1&status=failed`,
      `${BASE_URL}/executions?limit=2&cursor=c2&status=failed`,
    ]);
  });
});

describe('ControlPlaneClient: retries', () => {
  it('waits the Retry-After of a 429 (plus jitter below one base delay), then succeeds', async () => {
    // Prepare
    const { client, sent, sleeps } = clientWith([
      apiError(429, 'rate_limited', 'Slow down.'),
      json(200, { id: 'job_1' }),
    ]);
    const limited = clientWith([
      json(
        429,
        { error: { code: 'rate_limited', message: 'Slow down.', details: [] } },
        { 'retry-after': '3' },
      ),
      json(200, { id: 'job_1' }),
    ]);

    // Act
    const withoutHeader = await client.jobs.get('job_1');
    const withHeader = await limited.client.jobs.get('job_1');

    // Assess
    expect(withoutHeader).toEqual({ id: 'job_1' });
    expect(sent).toHaveLength(2);
    expect(sleeps).toEqual([100]); // no Retry-After: the first backoff, 0.5 × 200
    expect(withHeader).toEqual({ id: 'job_1' });
    expect(limited.sent).toHaveLength(2);
    expect(limited.sleeps).toEqual([3000 + 100]);
  });

  it('does not wait out a Retry-After longer than retryMaxDelayMs: the RateLimitedError says how long', async () => {
    // Prepare
    const { client, sent, sleeps } = clientWith(
      [
        json(
          429,
          { error: { code: 'rate_limited', message: 'Later.', details: [] } },
          { 'retry-after': '100' },
        ),
      ],
      { retryMaxDelayMs: 10_000 },
    );

    // Act
    const error = await rejection(client.jobs.get('job_1'));

    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(100);
    expect(sent).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries a 503 up to maxRetries times with exponential backoff, then throws the ServerError', async () => {
    // Prepare
    const { client, sent, sleeps } = clientWith([apiError(503, 'unavailable', 'Try later.')]);

    // Act
    const error = await rejection(client.jobs.get('job_1'));

    // Assess
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 503, code: 'unavailable' });
    expect(sent).toHaveLength(3); // the first attempt and maxRetries (2) more
    expect(sleeps).toEqual([100, 200]); // 0.5 × 200, 0.5 × 400
  });

  it.each([500, 502, 504])('retries a %i on a GET', async (status) => {
    // Prepare
    const { client, sent } = clientWith([
      text(status, '<html>Bad gateway</html>'),
      json(200, { id: 'job_1' }),
    ]);

    // Act
    const job = await client.jobs.get('job_1');

    // Assess
    expect(job).toEqual({ id: 'job_1' });
    expect(sent).toHaveLength(2);
  });

  it('keeps each wait uniform below min(retryMaxDelayMs, retryBaseDelayMs × 2^n)', async () => {
    // Prepare
    const highest = clientWith([apiError(503, 'unavailable', 'x')], {
      maxRetries: 4,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 250,
      random: () => 0.999,
    });
    const lowest = clientWith([apiError(503, 'unavailable', 'x')], { maxRetries: 4, random: () => 0 });

    // Act
    await rejection(highest.client.jobs.get('job_1'));
    await rejection(lowest.client.jobs.get('job_1'));

    // Assess
    expect(highest.sleeps).toEqual([99, 199, 249, 249]);
    expect(lowest.sleeps).toEqual([0, 0, 0, 0]);
  });

  it('retries a GET after a network error', async () => {
    // Prepare
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    const { client, sent } = clientWith([refused, json(200, { status: 'ok' })]);
    const failing = clientWith([refused], { maxRetries: 1 });

    // Act
    const health = await client.health();
    const error = await rejection(failing.client.jobs.get('job_1'));

    // Assess
    expect(health).toEqual({ status: 'ok' });
    expect(sent).toHaveLength(2);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ status: 0, code: 'network_error', cause: refused });
    expect(error.message).toBe(
      'network_error: GET /v1/jobs/job_1 failed: fetch failed (connect ECONNREFUSED 127.0.0.1:1)',
    );
    expect(failing.sent).toHaveLength(2);
  });

  it('never retries a create, whatever the failure', async () => {
    // Prepare
    const overloaded = clientWith([apiError(503, 'unavailable', 'x'), json(201, {})]);
    const limited = clientWith([apiError(429, 'rate_limited', 'x'), json(201, {})]);
    const unreachable = clientWith([new TypeError('fetch failed'), json(201, {})]);
    const entityOverloaded = clientWith([apiError(503, 'unavailable', 'x'), json(201, {})]);
    const body = { name: 'n', trigger_type: 'manual' as const, prompt_template: 'p' };

    // Act
    const errors = [
      await rejection(overloaded.client.jobs.create(body)),
      await rejection(limited.client.jobs.create(body)),
      await rejection(unreachable.client.jobs.create(body)),
      await rejection(
        entityOverloaded.client.entities.create({ type: 'agent', name: 'a', target: { type: 'echo' } }),
      ),
    ];

    // Assess
    expect(errors.map((error) => error.constructor)).toEqual([
      ServerError,
      RateLimitedError,
      NetworkError,
      ServerError,
    ]);
    expect(overloaded.sent).toHaveLength(1);
    expect(entityOverloaded.sent).toHaveLength(1);
    expect(limited.sent).toHaveLength(1);
    expect(unreachable.sent).toHaveLength(1);
  });

  it('retries a trigger only when it carries an idempotency key, sending the same key each time', async () => {
    // Prepare
    const withoutKey = clientWith([apiError(503, 'unavailable', 'x'), json(202, {})]);
    const withKey = clientWith([
      new TypeError('fetch failed'),
      apiError(502, 'bad_gateway', 'x'),
      json(202, {}),
    ]);

    // Act
    const error = await rejection(withoutKey.client.jobs.trigger('job_1', { parameters: { a: 1 } }));
    const result = await withKey.client.jobs.trigger('job_1', {
      parameters: { a: 1 },
      idempotency_key: 'k-1',
    });

    // Assess
    expect(error).toBeInstanceOf(ServerError);
    expect(withoutKey.sent).toHaveLength(1);
    expect(result).toEqual({});
    expect(withKey.sent).toHaveLength(3);
    for (const request of withKey.sent) {
      expect(request.headers['idempotency-key']).toBe('k-1');
      expect(request.body).toBe('{"parameters":{"a":1}}');
    }
  });

  it('retries a replay only when it carries an idempotency key', async () => {
    // Prepare
    const withoutKey = clientWith([apiError(503, 'unavailable', 'x'), json(202, {})]);
    const withKey = clientWith([new TypeError('fetch failed'), json(202, {})]);

    // Act
    const error = await rejection(withoutKey.client.jobs.replayExecution('job_1', 'exec_1'));
    await withKey.client.jobs.replayExecution('job_1', 'exec_1', { idempotency_key: 'k-2' });

    // Assess
    expect(error).toBeInstanceOf(ServerError);
    expect(withoutKey.sent).toHaveLength(1);
    expect(withKey.sent.map((request) => request.headers['idempotency-key'])).toEqual(['k-2', 'k-2']);
  });

  it('retries a webhook delivery only when it carries a delivery id', async () => {
    // Prepare
    const { body, signature } = signWebhookPayload({ parameters: {} }, 'secret');
    const anonymous = clientWith([apiError(503, 'unavailable', 'x'), json(202, {})]);
    const withId = clientWith([apiError(503, 'unavailable', 'x'), json(202, {})]);
    const withGitHubId = clientWith([apiError(503, 'unavailable', 'x'), json(202, {})]);
    const standard = clientWith([apiError(503, 'unavailable', 'x'), json(202, {})]);
    const headers = standardWebhookHeaders(body, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', {
      id: 'msg_1',
    }).headers;

    // Act
    await rejection(anonymous.client.jobs.triggerWebhook({ webhook_path: 'h', payload: body, signature }));
    await withId.client.jobs.triggerWebhook({
      webhook_path: 'h',
      payload: body,
      signature,
      delivery_id: 'd-1',
    });
    await withGitHubId.client.jobs.triggerWebhook({
      webhook_path: 'h',
      payload: body,
      signature,
      headers: { 'X-GitHub-Delivery': 'gh-1' },
    });
    await standard.client.jobs.triggerWebhook({ webhook_path: 'h', payload: body, headers });

    // Assess
    expect(anonymous.sent).toHaveLength(1);
    expect(withId.sent).toHaveLength(2);
    expect(withGitHubId.sent).toHaveLength(2);
    expect(standard.sent).toHaveLength(2);
  });

  it('retries the idempotent writes (PATCH, DELETE, enable, disable) and not cancel or rotate', async () => {
    // Prepare
    const script = () => clientWith([apiError(503, 'unavailable', 'x'), json(200, {})]);
    const retried = {
      updateJob: script(),
      updateEntity: script(),
      enable: script(),
      disable: script(),
      deleteJob: script(),
      deleteEntity: script(),
    };
    const once = { cancel: script(), rotate: script(), toWebhook: script(), toHttpTarget: script() };

    // Act
    await retried.updateJob.client.jobs.update('job_1', { name: 'n' });
    await retried.updateEntity.client.entities.update('a', { name: 'n' });
    await retried.enable.client.jobs.enable('job_1');
    await retried.disable.client.jobs.disable('job_1');
    await retried.deleteJob.client.jobs.delete('job_1');
    await retried.deleteEntity.client.entities.delete('a');
    await rejection(once.cancel.client.jobs.cancelExecution('job_1', 'exec_1'));
    await rejection(once.rotate.client.jobs.rotateWebhookSecret('job_1'));
    // Each of these can mint a secret shown only in its first answer.
    await rejection(once.toWebhook.client.jobs.update('job_1', { trigger_type: 'webhook' }));
    await rejection(
      once.toHttpTarget.client.entities.update('a', {
        target: { type: 'http', url: 'https://agent.example' },
      }),
    );

    // Assess
    for (const { sent } of Object.values(retried)) expect(sent).toHaveLength(2);
    for (const { sent } of Object.values(once)) expect(sent).toHaveLength(1);
  });

  it('counts a 404 on a retried DELETE as done, but not a 404 on the first attempt', async () => {
    // Prepare
    const lostAnswer = clientWith([new TypeError('fetch failed'), apiError(404, 'not_found', 'No job.')]);
    const unknown = clientWith([apiError(404, 'not_found', 'No job.')]);

    // Act
    const deleted = await lostAnswer.client.jobs.delete('job_1');
    const error = await rejection(unknown.client.jobs.delete('job_1'));

    // Assess
    expect(deleted).toBeUndefined();
    expect(lostAnswer.sent).toHaveLength(2);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(unknown.sent).toHaveLength(1);
  });

  it('does not retry the client errors a retry cannot fix, nor anything with maxRetries 0', async () => {
    // Prepare
    const statuses = [400, 401, 403, 404, 409, 422, 501];
    const clients = statuses.map((status) => clientWith([apiError(status, 'x', 'x'), json(200, {})]));
    const noRetries = clientWith([apiError(503, 'unavailable', 'x'), json(200, {})], { maxRetries: 0 });

    // Act
    for (const { client } of clients) await rejection(client.jobs.get('job_1'));
    await rejection(noRetries.client.jobs.get('job_1'));

    // Assess
    expect(clients.map(({ sent }) => sent.length)).toEqual(statuses.map(() => 1));
    expect(noRetries.sent).toHaveLength(1);
  });
});

describe('ControlPlaneClient: errors', () => {
  it.each([
    { status: 400, type: ValidationError },
    { status: 401, type: AuthError },
    { status: 403, type: AuthError },
    { status: 404, type: NotFoundError },
    { status: 409, type: ConflictError },
    { status: 422, type: ValidationError },
    { status: 429, type: RateLimitedError },
    { status: 500, type: ServerError },
    { status: 503, type: ServerError },
    { status: 405, type: JobError },
    { status: 413, type: JobError },
  ])('maps $status to $type.name', async ({ status, type }) => {
    // Prepare
    const { client } = clientWith([apiError(status, 'some_code', 'What went wrong.')], { maxRetries: 0 });

    // Act
    const error = await rejection(client.jobs.get('job_1'));

    // Assess
    expect(error.constructor).toBe(type);
    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({
      name: type.name,
      status,
      code: 'some_code',
      details: [],
      message: `${status} some_code: What went wrong.`,
    });
  });

  it('gives a ValidationError every field in details, and names them in a one-line message', async () => {
    // Prepare
    const details = [
      { path: 'cron_schedule', message: 'must be a 5-field cron expression', code: 'invalid_cron' },
      { path: 'cron_timezone', message: 'is not an IANA\ntimezone', code: 'invalid' },
      { path: '', message: 'the body is odd' },
    ];
    const { client } = clientWith([apiError(422, 'validation_failed', 'cron_schedule: must be…', details)]);

    // Act
    const error = await rejection(
      client.jobs.create({ name: 'n', trigger_type: 'cron', prompt_template: 'p' }),
    );

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.details).toEqual(details);
    expect(error.details.map((detail) => detail.path)).toEqual(['cron_schedule', 'cron_timezone', '']);
    expect(error.message).toBe(
      '422 validation_failed: cron_schedule: must be a 5-field cron expression; ' +
        'cron_timezone: is not an IANA timezone; the body is odd',
    );
  });

  it('names at most 5 fields in the message, and counts the rest', async () => {
    // Prepare
    const details = Array.from({ length: 7 }, (_, i) => ({ path: `f${i}`, message: 'bad' }));
    const { client } = clientWith([apiError(422, 'validation_failed', 'x', details)]);

    // Act
    const error = await rejection(client.jobs.get('job_1'));

    // Assess
    expect(error.details).toHaveLength(7);
    expect(error.message).toBe(
      '422 validation_failed: f0: bad; f1: bad; f2: bad; f3: bad; f4: bad; and 2 more',
    );
  });

  it('gives a RateLimitedError the Retry-After in seconds, or null without one', async () => {
    // Prepare
    const body = { error: { code: 'rate_limited', message: 'Too many deliveries.', details: [] } };
    const { client } = clientWith([json(429, body, { 'retry-after': '7' })], { maxRetries: 0 });
    const bare = clientWith([json(429, body)], { maxRetries: 0 });

    // Act
    const error = await rejection(client.jobs.get('job_1'));
    const bareError = await rejection(bare.client.jobs.get('job_1'));

    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(7);
    expect((bareError as RateLimitedError).retryAfterSeconds).toBeNull();
  });

  it('reports an answer that is not the service error shape by its status alone', async () => {
    // Prepare
    const { client } = clientWith([text(502, '<html>Bad Gateway</html>')], { maxRetries: 0 });

    // Act
    const error = await rejection(client.jobs.get('job_1'));

    // Assess
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({
      status: 502,
      code: 'http_502',
      message: '502 http_502: The service answered 502.',
    });
  });

  it('reports a success whose body is not JSON as invalid_response', async () => {
    // Prepare
    const { client } = clientWith([text(200, 'not json')]);

    // Act
    const error = await rejection(client.jobs.get('job_1'));

    // Assess
    expect(error.constructor).toBe(JobError);
    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
  });
});

describe('ControlPlaneClient: timeout', () => {
  it('fails an attempt that gets no answer within timeoutMs with a TimeoutError (status 0, code timeout)', async () => {
    // Prepare
    const { client, sent } = clientWith(['hang'], { timeoutMs: 20, maxRetries: 0 });

    // Act
    const error = await rejection(client.jobs.get('job_1'));

    // Assess
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ status: 0, code: 'timeout' });
    expect(error.message).toBe('timeout: GET /v1/jobs/job_1 got no answer within 20 ms.');
    expect(sent).toHaveLength(1);
  });

  it('retries a timed-out idempotent call like a network error, but not a create', async () => {
    // Prepare
    const read = clientWith(['hang', json(200, { id: 'job_1' })], { timeoutMs: 20 });
    const create = clientWith(['hang', json(201, {})], { timeoutMs: 20 });

    // Act
    const job = await read.client.jobs.get('job_1');
    const error = await rejection(
      create.client.jobs.create({ name: 'n', trigger_type: 'manual', prompt_template: 'p' }),
    );

    // Assess
    expect(job).toEqual({ id: 'job_1' });
    expect(read.sent).toHaveLength(2);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(create.sent).toHaveLength(1);
  });
});

describe('ControlPlaneClient: configuration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads the URL and key from JOBS_API_URL and JOBS_API_KEY', async () => {
    // Prepare
    vi.stubEnv('JOBS_API_URL', 'https://env.example.test/');
    vi.stubEnv('JOBS_API_KEY', 'sk_env');
    const sent: string[] = [];
    const client = new ControlPlaneClient({
      fetch: async (input, init) => {
        sent.push(`${String(input)} ${new Headers(init?.headers).get('authorization')}`);
        return new Response('{"id":"job_1"}', { status: 200 });
      },
    });

    // Act
    await client.jobs.get('job_1');

    // Assess
    expect(sent).toEqual(['https://env.example.test/jobs/job_1 Bearer sk_env']);
  });

  it.each<{ name: string; options: ControlPlaneClientOptions; message: string }>([
    {
      name: 'no URL',
      options: { apiKey: 'k' },
      message: 'No service URL: pass baseUrl or set JOBS_API_URL.',
    },
    {
      name: 'no key',
      options: { baseUrl: BASE_URL },
      message: 'No API key: pass apiKey or set JOBS_API_KEY.',
    },
    {
      name: 'a negative maxRetries',
      options: { baseUrl: BASE_URL, apiKey: 'k', maxRetries: -1 },
      message: 'maxRetries must be a whole number, 0 or more.',
    },
    {
      name: 'a zero timeout',
      options: { baseUrl: BASE_URL, apiKey: 'k', timeoutMs: 0 },
      message: 'timeoutMs must be a positive number of milliseconds.',
    },
  ])('refuses $name with a not_configured JobError', ({ options, message }) => {
    // Prepare
    vi.stubEnv('JOBS_API_URL', '');
    vi.stubEnv('JOBS_API_KEY', '');

    // Act
    const construct = () => new ControlPlaneClient(options);

    // Assess
    expect(construct).toThrow(expect.objectContaining({ status: 0, code: 'not_configured', message }));
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, and ignores what it cannot read', () => {
    // Prepare
    const now = Date.parse('2026-03-01T12:00:00Z');

    // Act
    const values = [
      '5',
      ' 0 ',
      'Sun, 01 Mar 2026 12:00:30 GMT',
      'Sun, 01 Mar 2026 11:00:00 GMT',
      'soon',
      null,
    ].map((value) => parseRetryAfter(value, now));

    // Assess
    expect(values).toEqual([5000, 0, 30_000, 0, null, null]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControlPlaneClient,
  type Job,
  type JobError,
  signWebhookPayload,
  standardWebhookHeaders,
} from '../../sdk/index.js';
import { startRuntimeWithClient, type TestRuntime } from '../support/local-runtime.js';

/** Inputs that once reached DynamoDB's key limits or its number range, and races on shared items. */
let runtime: TestRuntime;
let client: ControlPlaneClient;

beforeAll(async () => {
  ({ runtime, client } = await startRuntimeWithClient());
});

afterAll(async () => {
  await runtime?.cleanup();
});

const long = 'a'.repeat(3000);

async function status(path: string, init: RequestInit = {}) {
  const response = await fetch(`${runtime.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${runtime.apiKey}`, ...(init.headers as Record<string, string>) },
  });
  return response.status;
}

async function webhookJob(config: Record<string, unknown> = {}): Promise<Job & { webhook_secret: string }> {
  return (await client.jobs.create({
    name: 'hook',
    trigger_type: 'webhook',
    prompt_template: 'Run {{ what }}',
    config,
  })) as Job & { webhook_secret: string };
}

describe('ids too long to be ours answer 404, never a storage error', () => {
  it('for executions, cancel, callback and entities', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'ids', trigger_type: 'manual', prompt_template: 'p' });

    // Act
    const statuses = await Promise.all([
      status(`/jobs/${job.id}/executions/${long}`),
      status(`/jobs/${job.id}/executions/${long}/cancel`, { method: 'POST' }),
      status(`/entities/${long}`),
      status(`/entities/${long}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"x"}',
      }),
      status(`/entities/${long}`, { method: 'DELETE' }),
      status(`/executions/${long}/callback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${job.id}.token` },
        body: '{"status":"succeeded"}',
      }),
    ]);

    // Assess
    expect(statuses).toEqual([404, 404, 404, 404, 404, 401]);
  });
});

describe('callbacks', () => {
  it('check the token before reading the body: a stranger gets 401 whatever they send', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'cb', trigger_type: 'manual', prompt_template: 'p' });
    const run = await client.jobs.trigger(job.id);

    // Act
    const statuses = await Promise.all(
      ['{not json', '[]', '{"status":"maybe"}'].map((body) =>
        status(`/executions/${run.execution_id}/callback`, {
          method: 'POST',
          headers: { authorization: `Bearer ${job.id}.forged` },
          body,
        }),
      ),
    );

    // Assess
    expect(statuses).toEqual([401, 401, 401]);
  });
});

describe('webhook hardening', () => {
  it('refuses a signed delivery whose webhook-id is too long, with the usual 401 and no run', async () => {
    // Prepare
    const job = await webhookJob();
    const { body, headers } = standardWebhookHeaders({ parameters: { what: 'x' } }, job.webhook_secret, {
      id: 'i'.repeat(1100),
    });

    // Act
    const response = await fetch(job.webhook_url as string, { method: 'POST', body, headers });
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(response.status).toBe(401);
    expect(history.total_count).toBe(0);
  });

  it('refuses a rate limit too small to mean anything, naming the field', async () => {
    // Act
    const error = await webhookJob({ webhook_rate_limit: { requests_per_second: 1e-120, burst: 1 } }).catch(
      (e: unknown) => e as JobError,
    );

    // Assess
    expect(error).toMatchObject({
      status: 422,
      details: [{ path: 'config.webhook_rate_limit.requests_per_second' }],
    });
  });

  it('takes no rate allowance for a delivery refused by the run checks', async () => {
    // Prepare
    const job = await webhookJob({ webhook_rate_limit: { requests_per_second: 0.01, burst: 1 } });
    const bad = signWebhookPayload(
      { parameters: { what: 'x' }, config_override: { timeout: 0 } },
      job.webhook_secret,
    );
    const good = signWebhookPayload({ parameters: { what: 'y' } }, job.webhook_secret);
    const deliver = ({ body, signature }: { body: string; signature: string }) =>
      client.jobs
        .triggerWebhook({ webhook_path: job.webhook_path as string, payload: body, signature })
        .then(() => 202)
        .catch((e: JobError) => e.status);

    // Act
    const refused = await deliver(bad);
    const accepted = await deliver(good);
    const limited = await deliver(good);

    // Assess
    expect([refused, accepted, limited]).toEqual([422, 202, 429]);
  });

  it('never loses a secret to two concurrent rotations: each answer either holds or is a 409', async () => {
    // Prepare
    const job = await webhookJob();

    // Act
    const outcomes = await Promise.allSettled([
      client.jobs.rotateWebhookSecret(job.id, { grace_seconds: 3600 }),
      client.jobs.rotateWebhookSecret(job.id, { grace_seconds: 3600 }),
    ]);
    const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const lost = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [outcome.reason as JobError] : [],
    );
    const send = (secret: string) => {
      const { body, signature } = signWebhookPayload({ parameters: { what: 'z' } }, secret);
      return client.jobs
        .triggerWebhook({ webhook_path: job.webhook_path as string, payload: body, signature })
        .then(() => 202)
        .catch((e: JobError) => e.status);
    };

    // Assess
    // Truly concurrent, one wins and the other gets 409 (forced in test/unit/webhook-service.test.ts);
    // if the server happened to serve them one after the other, both won and the first winner's secret
    // is the previous one. Either way every secret an answer handed out verifies.
    expect(lost.map((error) => error.status)).toEqual(won.length === 1 ? [409] : []);
    for (const rotation of won) expect(await send(rotation.webhook_secret)).toBe(202);
    expect(await send(job.webhook_secret)).toBe(won.length === 1 ? 202 : 401);
  });
});

describe('bounded history reads', () => {
  it('refuses an offset past 1000 with a 422 that names the cap and points at cursor', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'deep', trigger_type: 'manual', prompt_template: 'p' });

    // Act
    const deepest = await client.jobs.getExecutions(job.id, { offset: 1000 });
    const error = await client.jobs
      .getExecutions(job.id, { offset: 1001 })
      .catch((e: unknown) => e as JobError);

    // Assess
    expect(deepest).toEqual({ total_count: 0, executions: [], next_cursor: null });
    expect(error).toMatchObject({ status: 422, details: [{ path: 'offset' }] });
    expect((error as JobError).message).toContain('1000');
    expect((error as JobError).message).toContain('cursor');
  });

  it('serves an offset page and its cursor without losing or repeating runs', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'paged', trigger_type: 'manual', prompt_template: 'p' });
    const started: string[] = [];
    for (let index = 0; index < 9; index++) started.push((await client.jobs.trigger(job.id)).execution_id);
    const newestFirst = [...started].reverse();

    // Act
    const page = await client.jobs.getExecutions(job.id, { offset: 4, limit: 3 });
    const rest = await client.jobs.getExecutions(job.id, { cursor: page.next_cursor as string, limit: 10 });

    // Assess
    expect(page.total_count).toBe(9);
    expect(page.executions.map((execution) => execution.execution_id)).toEqual(newestFirst.slice(4, 7));
    expect(rest.executions.map((execution) => execution.execution_id)).toEqual(newestFirst.slice(7));
    expect(rest.next_cursor).toBeNull();
  });
});

describe('webhook replays and the rate limit', () => {
  it('answers a replayed delivery id with its first run once the allowance is used up, without using any', async () => {
    // Prepare
    const job = await webhookJob({ webhook_rate_limit: { requests_per_second: 0.001, burst: 1 } });
    const deliver = (id: string) => {
      const { body, headers } = standardWebhookHeaders({ parameters: { what: id } }, job.webhook_secret, {
        id,
      });
      return fetch(job.webhook_url as string, { method: 'POST', body, headers });
    };
    const first = await deliver('delivery-1');
    const firstRun = (await first.json()) as { execution_id: string };

    // Act
    const replays = [await deliver('delivery-1'), await deliver('delivery-1')];
    const replayRuns = await Promise.all(
      replays.map(async (reply) => (await reply.json()) as { execution_id: string }),
    );
    const fresh = await deliver('delivery-2');
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(first.status).toBe(202);
    expect(replays.map((reply) => reply.status)).toEqual([202, 202]);
    expect(replayRuns.map((run) => run.execution_id)).toEqual([firstRun.execution_id, firstRun.execution_id]);
    expect(fresh.status).toBe(429);
    expect(history.total_count).toBe(1);
  });
});

describe('strict input', () => {
  const manual = JSON.stringify({ name: 'typed', trigger_type: 'manual', prompt_template: 'p' });

  async function send(path: string, init: RequestInit = {}) {
    const response = await fetch(`${runtime.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${runtime.apiKey}`, ...(init.headers as Record<string, string>) },
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  }

  it('answers 415 to a body that is not sent as JSON, and takes JSON with a charset', async () => {
    // Act
    const refused = await Promise.all([
      send('/jobs', { method: 'POST', body: manual }),
      send('/jobs', { method: 'POST', body: manual, headers: { 'content-type': 'application/xml' } }),
      send('/jobs', { method: 'POST', body: new Blob([manual]) }),
      send('/jobs', {
        method: 'POST',
        body: (() => {
          const form = new FormData();
          form.set('name', 'typed');
          return form;
        })(),
      }),
    ]);
    const accepted = await send('/jobs', {
      method: 'POST',
      body: manual,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });

    // Assess
    expect(refused.map((response) => response.status)).toEqual([415, 415, 415, 415]);
    for (const response of refused) {
      expect(JSON.parse(response.text)).toMatchObject({
        error: { code: 'unsupported_media_type', details: [{ path: 'Content-Type' }] },
      });
    }
    expect(accepted.status).toBe(201);
  });

  it('takes webhook deliveries whatever their content type, as senders differ', async () => {
    // Prepare
    const job = await webhookJob();
    const { body, signature } = signWebhookPayload({ parameters: { what: 'x' } }, job.webhook_secret);

    // Act
    const response = await fetch(job.webhook_url as string, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain', 'x-webhook-signature': signature },
    });

    // Assess
    expect(response.status).toBe(202);
  });

  it('refuses a lone UTF-16 surrogate in a job name with a 422 naming the field', async () => {
    // Act
    const response = await send('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"\\ud800","trigger_type":"manual","prompt_template":"p"}',
    });

    // Assess
    expect(response.status).toBe(422);
    expect(JSON.parse(response.text).error.details).toEqual([
      { path: 'name', message: expect.stringContaining('surrogate'), code: 'invalid_string' },
    ]);
  });

  it('answers HEAD as GET, status and headers, without a body', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'head', trigger_type: 'manual', prompt_template: 'p' });
    const paths = [
      '/health',
      '/jobs',
      `/jobs/${job.id}`,
      `/jobs/${job.id}/executions`,
      '/jobs/job_x',
      '/jobs?limit=0',
    ];
    const comparable = (headers: Headers) => {
      // Per request or per connection, not part of the answer: the date, the request id, keep-alive.
      const copy = Object.fromEntries(headers);
      for (const name of ['date', 'apigw-requestid', 'connection', 'keep-alive']) delete copy[name];
      return copy;
    };

    for (const path of paths) {
      // Act
      const get = await send(path);
      const head = await send(path, { method: 'HEAD' });

      // Assess
      expect(head.status, path).toBe(get.status);
      expect(head.text, path).toBe('');
      expect(comparable(head.headers), path).toEqual(comparable(get.headers));
      expect(head.headers.get('content-length'), path).toBe(String(Buffer.byteLength(get.text)));
    }
  });

  it('lists HEAD in Allow wherever GET is allowed', async () => {
    // Act
    const response = await send('/jobs', { method: 'DELETE' });

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
  });

  it.each(['__proto__', 'constructor', 'toString'])(
    'refuses %s as an unknown query parameter, like any other',
    async (name) => {
      // Act
      const response = await send(`/jobs?${name}=x`);

      // Assess
      expect(response.status).toBe(422);
      expect(JSON.parse(response.text).error.details).toEqual([
        { path: name, message: expect.any(String), code: 'unknown_field' },
      ]);
    },
  );
});

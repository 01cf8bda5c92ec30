import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  AuthError,
  ConflictError,
  ControlPlaneClient,
  type ControlPlaneClientOptions,
  type EntityWithSecret,
  type Job,
  JobError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  signWebhookPayload,
  ValidationError,
} from '../../sdk/index.js';
import { startAgentServer } from '../support/agent-server.js';
import { startRuntimeWithClient, type TestRuntime, waitForExecution } from '../support/local-runtime.js';

/** The SDK against the real local runtime: paging, the error classes, and retries that are safe. */
let runtime: TestRuntime;
let client: ControlPlaneClient;

beforeAll(async () => {
  ({ runtime, client } = await startRuntimeWithClient());
});

afterAll(async () => {
  await runtime?.cleanup();
});

/** The error a call failed with (fails the test if it succeeded or failed otherwise). */
async function rejection(call: Promise<unknown>): Promise<JobError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof JobError) return error;
    throw error;
  }
  throw new Error('Expected the call to fail with a JobError.');
}

/**
 * A client whose `fetch` loses the answer to the first request matching `lose` after the service has
 * handled it, as a connection reset on the way back does; `sent` counts every request.
 */
function clientLosingFirstAnswer(lose: (request: { method: string; path: string }) => boolean) {
  const sent: string[] = [];
  let lost = false;
  const lossyFetch: typeof fetch = async (input, init) => {
    const request = { method: init?.method ?? 'GET', path: new URL(String(input)).pathname };
    sent.push(`${request.method} ${request.path}`);
    const response = await fetch(input, init);
    if (!lost && lose(request)) {
      lost = true;
      await response.arrayBuffer();
      throw new TypeError('fetch failed', { cause: new Error('read ECONNRESET') });
    }
    return response;
  };
  const lossy = new ControlPlaneClient({
    baseUrl: runtime.url,
    apiKey: runtime.apiKey,
    fetch: lossyFetch,
    sleep: async () => {},
  });
  return { client: lossy, sent };
}

const manualJob = (name: string) =>
  client.jobs.create({ name, trigger_type: 'manual', prompt_template: 'Run {{ n }}' });

describe('SDK against the runtime: iterateExecutions', () => {
  it('yields every execution of a job, newest first, across pages', async () => {
    // Prepare
    const job = await manualJob('paged');
    const triggered: string[] = [];
    for (let n = 0; n < 5; n++) {
      triggered.push((await client.jobs.trigger(job.id, { parameters: { n } })).execution_id);
    }
    for (const id of triggered) await waitForExecution(client, job.id, id);

    // Act
    const seen: string[] = [];
    for await (const execution of client.jobs.iterateExecutions(job.id, { pageSize: 2 })) {
      seen.push(execution.execution_id);
    }
    const firstPage = await client.jobs.getExecutions(job.id, { limit: 5 });

    // Assess
    expect(seen).toHaveLength(5);
    expect([...seen].sort()).toEqual([...triggered].sort());
    expect(seen).toEqual(firstPage.executions.map((execution) => execution.execution_id));
  });

  it('throws a NotFoundError for an unknown job on the first page', async () => {
    // Act
    const error = await rejection(
      (async () => {
        for await (const _ of client.jobs.iterateExecutions('job_00000000-0000-4000-8000-000000000000')) {
          // nothing to see
        }
      })(),
    );

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
  });
});

describe('SDK against the runtime: error classes', () => {
  it('NotFoundError for an unknown job', async () => {
    // Act
    const error = await rejection(client.jobs.get('invalid-id'));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', details: [] });
    expect(error.message).toMatch(/^404 not_found: /);
  });

  it('ValidationError naming the invalid field, in details and in its one-line message', async () => {
    // Act
    const error = await rejection(
      client.jobs.create({
        name: 'bad',
        trigger_type: 'cron',
        prompt_template: 'p',
        cron_schedule: '61 * * * *',
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(error.details.map((detail) => detail.path)).toEqual(['cron_schedule']);
    expect(error.message).toMatch(/^422 validation_failed: cron_schedule: /);
    expect(error.message).not.toContain('\n');
  });

  it('ValidationError for a body that is not an object (400) and for an unknown field (422)', async () => {
    // Prepare
    const job = await manualJob('malformed');
    // What a caller without types could send.
    const notAnObject: unknown = JSON.parse('[]');
    const unknownField: unknown = JSON.parse('{"colour":"red"}');

    // Act
    const malformed = await rejection(client.jobs.update(job.id, notAnObject as { name: string }));
    const unknown = await rejection(client.jobs.update(job.id, unknownField as { name: string }));

    // Assess
    expect(malformed).toBeInstanceOf(ValidationError);
    expect(malformed).toMatchObject({ status: 400, code: 'invalid_body' });
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(unknown.details.map((detail) => detail.path)).toEqual(['colour']);
    expect(unknown.message).toMatch(/^422 validation_failed: colour: /);
  });

  it('ConflictError when triggering a disabled job', async () => {
    // Prepare
    const job = await manualJob('disabled');
    await client.jobs.disable(job.id);

    // Act
    const error = await rejection(client.jobs.trigger(job.id));
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ status: 409, code: 'conflict' });
    expect(error.message).toMatch(/^409 conflict: .*disabled/);
    expect(history.total_count).toBe(0);
  });

  it('AuthError with a wrong API key, and health() and openApiDocument() needing none', async () => {
    // Prepare
    const wrongKey = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: 'not-the-key' });

    // Act
    const error = await rejection(wrongKey.jobs.list());
    const health = await wrongKey.health();
    const document = await wrongKey.openApiDocument();

    // Assess
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(health).toEqual({ status: 'ok' });
    expect(document).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  });

  it('NetworkError when nothing listens at the URL', async () => {
    // Prepare
    const nowhere = new ControlPlaneClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', maxRetries: 0 });

    // Act
    const error = await rejection(nowhere.jobs.get('job_1'));

    // Assess
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
  });
});

describe('SDK against the runtime: retries', () => {
  it('retries a trigger whose answer was lost when it has an idempotency key: one run, not two', async () => {
    // Prepare
    const job = await manualJob('lost answer');
    const { client: lossy, sent } = clientLosingFirstAnswer(({ path }) => path.endsWith('/trigger'));

    // Act
    const result = await lossy.jobs.trigger(job.id, { parameters: { n: 1 }, idempotency_key: 'lost-1' });
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(sent).toEqual([`POST /jobs/${job.id}/trigger`, `POST /jobs/${job.id}/trigger`]);
    expect(history.total_count).toBe(1);
    expect(history.executions[0]?.execution_id).toBe(result.execution_id);
  });

  it('does not retry a trigger without a key: the lost answer is an error, and the one run stands', async () => {
    // Prepare
    const job = await manualJob('no key');
    const { client: lossy, sent } = clientLosingFirstAnswer(({ path }) => path.endsWith('/trigger'));

    // Act
    const error = await rejection(lossy.jobs.trigger(job.id, { parameters: { n: 1 } }));
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(error).toBeInstanceOf(NetworkError);
    expect(sent).toEqual([`POST /jobs/${job.id}/trigger`]);
    expect(history.total_count).toBe(1);
  });

  it('completes a DELETE whose answer was lost (the retry meets 404: already done)', async () => {
    // Prepare
    const job = await manualJob('delete me');
    const { client: lossy, sent } = clientLosingFirstAnswer(({ method }) => method === 'DELETE');

    // Act
    await lossy.jobs.delete(job.id);
    const gone = await rejection(client.jobs.get(job.id));

    // Assess
    expect(sent).toEqual([`DELETE /jobs/${job.id}`, `DELETE /jobs/${job.id}`]);
    expect(gone).toBeInstanceOf(NotFoundError);
  });

  it("waits out a webhook's Retry-After for a delivery with an id, and gives up on one without", async () => {
    // Prepare
    const job = (await client.jobs.create({
      name: 'limited hook',
      trigger_type: 'webhook',
      prompt_template: 'Run {{ n }}',
      config: { webhook_rate_limit: { requests_per_second: 1, burst: 1 } },
    })) as Job & { webhook_secret: string; webhook_path: string };
    const sleeps: number[] = [];
    const options: ControlPlaneClientOptions = {
      baseUrl: runtime.url,
      apiKey: runtime.apiKey,
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    };
    const patient = new ControlPlaneClient(options);
    const deliver = (n: number, delivery_id?: string) => {
      const { body, signature } = signWebhookPayload({ parameters: { n } }, job.webhook_secret);
      return patient.jobs.triggerWebhook({
        webhook_path: job.webhook_path,
        payload: body,
        signature,
        ...(delivery_id !== undefined && { delivery_id }),
      });
    };

    // Act
    const first = await deliver(1, 'd-1');
    const refused = await rejection(deliver(2));
    const second = await deliver(3, 'd-3');
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(1000);
    expect(second.execution_id).not.toBe(first.execution_id);
    expect(history.total_count).toBe(2);
  });
});

describe('SDK against the runtime: executions.callback', () => {
  it('finishes an accepted run with the callback token, refusing a second callback and a wrong token', async () => {
    // Prepare
    const agent = await startAgentServer();
    onTestFinished(() => agent.close());
    agent.script({ kind: 'accept' });
    const entity = (await client.entities.create({
      type: 'agent',
      name: 'Async agent',
      target: { type: 'http', url: agent.url },
    })) as EntityWithSecret;
    agent.signingSecret = entity.signing_secret;
    const job = await client.jobs.create({
      name: 'async',
      trigger_type: 'manual',
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: entity.id,
      prompt_template: 'Work',
    });
    const { execution_id } = await client.jobs.trigger(job.id);
    const [request] = await agent.waitForRequests(1);
    const token = request?.body.callback.token ?? '';
    await waitForExecution(client, job.id, execution_id, { statuses: ['running'] });

    // Act
    const forged = await rejection(
      client.executions.callback(execution_id, `${token}x`, { status: 'succeeded' }),
    );
    const finished = await client.executions.callback(execution_id, token, {
      status: 'succeeded',
      output: { answer: 42 },
    });
    const again = await rejection(client.executions.callback(execution_id, token, { status: 'failed' }));

    // Assess
    expect(forged).toBeInstanceOf(AuthError);
    expect(finished).toMatchObject({ execution_id, status: 'succeeded', output: { answer: 42 } });
    expect(again).toBeInstanceOf(ConflictError);
    expect((await client.jobs.getExecution(job.id, execution_id)).status).toBe('succeeded');
  });
});

describe('SDK against the runtime: scoped keys and the audit trail', () => {
  it('creates a read key that reads but may not write, names it in the trail, and revokes it', async () => {
    // Prepare
    const created = await client.apiKeys.create('e2e-reader', 'read');
    const reader = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: created.key, maxRetries: 0 });
    const job = await client.jobs.create({ name: 'audited', trigger_type: 'manual', prompt_template: 'x' });

    // Act
    const listed = await reader.jobs.listPage({ limit: 1 });
    const refused = await rejection(reader.jobs.disable(job.id));
    await client.jobs.update(job.id, { description: 'audited job' });
    const history = await reader.jobs.history(job.id);
    const keys = await client.apiKeys.list();
    await client.apiKeys.delete('e2e-reader');
    const revoked = await rejection(reader.jobs.listPage({ limit: 1 }));

    // Assess
    expect(listed.jobs).toHaveLength(1);
    expect(refused).toBeInstanceOf(AuthError);
    expect(refused).toMatchObject({ status: 403, code: 'insufficient_scope' });
    expect(
      history.history.map(({ action, actor, changed_fields }) => ({ action, actor, changed_fields })),
    ).toEqual([
      { action: 'updated', actor: { type: 'api_key', name: 'deployment' }, changed_fields: ['description'] },
      {
        action: 'created',
        actor: { type: 'api_key', name: 'deployment' },
        changed_fields: ['name', 'prompt_template', 'trigger_type'],
      },
    ]);
    expect(keys.find((key) => key.name === 'e2e-reader')).toMatchObject({
      scope: 'read',
      last_used_at: expect.any(String),
    });
    expect(JSON.stringify(keys)).not.toContain(created.key);
    expect(revoked).toMatchObject({ status: 401 });
  });
});

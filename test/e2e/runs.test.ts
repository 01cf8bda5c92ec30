import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  ControlPlaneClient,
  type EntityWithSecret,
  type Execution,
  type Job,
  JobError,
} from '../../sdk/index.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { systemClock } from '../../shared/adapters/system.js';
import { RunWorker } from '../../shared/app/run-worker.js';
import type { ExecutionRequest } from '../../shared/domain/execution.js';
import type { RunMessage, TargetInvoker } from '../../shared/ports.js';
import { type AgentServer, startAgentServer } from '../support/agent-server.js';
import {
  openRuntimeStores,
  startTestRuntime,
  type TestRuntime,
  waitForExecution,
} from '../support/local-runtime.js';

let runtime: TestRuntime;
let client: ControlPlaneClient;

beforeAll(async () => {
  // A short worker budget keeps leases short: a message kept for after a lease comes back within seconds.
  runtime = await startTestRuntime({ workerTimeoutMs: 5_000 });
  client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
});

afterAll(async () => {
  await runtime?.cleanup();
});

const silent = createLogger({ level: 'silent' });

interface AgentJob {
  agent: AgentServer;
  entity: EntityWithSecret;
  job: Job;
  /** The job's own worker queue, so a test can watch it settle without other tests' messages. */
  queue: string;
}

/**
 * A real agent server, an `http` agent entity pointing at it (its signing secret handed to the agent for
 * verification) and a manual job on its own queue running that agent.
 */
async function agentJob(
  options: { template?: string; config?: Record<string, unknown> } = {},
): Promise<AgentJob> {
  const agent = await startAgentServer();
  onTestFinished(() => agent.close());
  const entity = (await client.entities.create({
    type: 'agent',
    name: 'Test agent',
    target: { type: 'http', url: agent.url },
  })) as EntityWithSecret;
  agent.signingSecret = entity.signing_secret;
  const queue = `q-${randomBytes(4).toString('hex')}`;
  const job = await client.jobs.create({
    name: 'Run test',
    trigger_type: 'manual',
    planning_mode: 'predefined_agent',
    entity_type: 'agent',
    entity_id: entity.id,
    prompt_template: options.template ?? 'Say hello',
    executor_type: 'specific_queue',
    worker_queue_name: queue,
    config: options.config ?? {},
  });
  return { agent, entity, job, queue };
}

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

/** Polls `condition` every 20 ms until it holds; rejects after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out waiting for ${what}.`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** Resolves once the queue holds no message and no delivery of it is in flight. */
const queueSettled = (queue: string) =>
  until(
    () => runtime.queues.depth(queue) === 0 && runtime.queues.inFlight(queue) === 0,
    `queue ${queue} to settle`,
  );

/**
 * Keeps the job's messages out of the runtime's queues (the worker never sees them) until `deliver()`
 * sends them on: a run stays `queued`, or another worker can take the message first.
 */
function holdMessages(jobId: string) {
  const queues = runtime.queues;
  const send = queues.send.bind(queues);
  const messages: { queue: string; message: RunMessage }[] = [];
  const spy = vi.spyOn(queues, 'send').mockImplementation(async (queue, message, delaySeconds) => {
    if (message.job_id === jobId) messages.push({ queue, message });
    else await send(queue, message, delaySeconds);
  });
  onTestFinished(() => spy.mockRestore());
  return {
    messages,
    deliver: async () => {
      spy.mockRestore();
      for (const held of messages.splice(0)) await send(held.queue, held.message);
    },
  };
}

/**
 * A second worker of the same deployment (the real RunWorker over the runtime's table and key file)
 * whose target invocation never returns: a worker that dies mid-run. Returns the requests it sent.
 */
async function doomedWorker() {
  const stores = await openRuntimeStores(runtime);
  onTestFinished(() => stores.close());
  const invoked: ExecutionRequest[] = [];
  const invoker: TargetInvoker = {
    invoke: (_target, request) => {
      invoked.push(request);
      return new Promise(() => {});
    },
  };
  const worker = new RunWorker({
    entities: stores.entities,
    executions: stores.executions,
    queue: runtime.queues,
    secrets: stores.secrets,
    invoker,
    deployment: {
      defaultQueue: 'default',
      queues: [],
      environments: {},
      open: true,
      publicBaseUrl: runtime.url,
    },
    clock: systemClock,
    logger: silent,
  });
  return { worker, invoked };
}

const finishedRunShape = (execution: Execution) => ({
  started: execution.started_at !== null,
  finished: execution.finished_at !== null,
  duration:
    execution.duration_ms ===
    Date.parse(execution.finished_at ?? '') - Date.parse(execution.started_at ?? ''),
});

describe('runs end to end: a real agent over HTTP', () => {
  it('sends the agent the rendered prompt, signed so an independent verifier accepts it, and records succeeded with duration and output', async () => {
    // Prepare
    const { agent, entity, job } = await agentJob({
      template: 'Deploy {{ service }} {{release.version}} to {{  target.env.name }}',
      config: { timeout: 60, team: 'payments' },
    });
    agent.script({ kind: 'json', body: { summary: 'deployed', ok: true } });
    const parameters = {
      service: 'api',
      release: { version: '1.4.2' },
      target: { env: { name: 'production' } },
    };

    // Act
    const triggered = await client.jobs.trigger(job.id, { parameters });
    const execution = await waitForExecution(client, job.id, triggered.execution_id);
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(triggered).toEqual({
      workflow_id: expect.stringMatching(/^wf_/),
      execution_id: expect.stringMatching(/^exec_/),
      status: 'queued',
    });
    expect(agent.requests).toHaveLength(1);
    const request = agent.requests[0] as (typeof agent.requests)[number];
    expect(request.signatureValid, request.signatureError ?? '').toBe(true);
    expect(request.headers['webhook-id']).toBe(triggered.execution_id);
    expect(request.headers['content-type']).toBe('application/json');
    const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;
    expect(() =>
      new Webhook(otherSecret).verify(request.rawBody, request.headers as Record<string, string>),
    ).toThrow();
    expect(request.body).toEqual({
      execution_id: triggered.execution_id,
      workflow_id: triggered.workflow_id,
      job_id: job.id,
      job_name: 'Run test',
      entity: { id: entity.id, type: 'agent', name: 'Test agent' },
      trigger_type: 'manual',
      prompt: 'Deploy api 1.4.2 to production',
      system_prompt: null,
      parameters,
      config: { timeout: 60, team: 'payments' },
      metadata: {},
      environment: null,
      attempt: 1,
      deadline_at: execution.deadline_at,
      callback: {
        url: `${runtime.url}/executions/${triggered.execution_id}/callback`,
        token: expect.any(String),
      },
    });
    expect(execution).toMatchObject({
      execution_id: triggered.execution_id,
      workflow_id: triggered.workflow_id,
      job_id: job.id,
      status: 'succeeded',
      trigger_type: 'manual',
      parameters,
      prompt: 'Deploy api 1.4.2 to production',
      attempt: 1,
      error_message: null,
      output: { summary: 'deployed', ok: true },
      output_truncated: false,
    });
    expect(execution.duration_ms).toEqual(expect.any(Number));
    expect(finishedRunShape(execution)).toEqual({ started: true, finished: true, duration: true });
    expect(history).toEqual({ total_count: 1, executions: [execution], next_cursor: null });
    expect(JSON.stringify(history)).not.toContain(request.body.callback.token);
  });

  it('retries a target answering 500 up to config.retry.max_attempts, then records failed at attempt 3', async () => {
    // Prepare
    const { agent, job } = await agentJob({ config: { retry: { max_attempts: 3, backoff_seconds: 0 } } });
    agent.script({ kind: 'status', status: 500, body: 'database unavailable' });

    // Act
    const { execution_id } = await client.jobs.trigger(job.id);
    const execution = await waitForExecution(client, job.id, execution_id);
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(agent.requests.map((r) => [r.body.execution_id, r.body.attempt, r.signatureValid])).toEqual([
      [execution_id, 1, true],
      [execution_id, 2, true],
      [execution_id, 3, true],
    ]);
    expect(execution).toMatchObject({ status: 'failed', attempt: 3, max_attempts: 3, output: null });
    expect(execution.error_message).toContain('HTTP 500');
    expect(execution.error_message).toContain('database unavailable');
    expect(finishedRunShape(execution)).toEqual({ started: true, finished: true, duration: true });
    expect(history.total_count).toBe(1);
  });

  it('succeeds on the third attempt after two 500s, with no error left on the record', async () => {
    // Prepare
    const { agent, job } = await agentJob({ config: { retry: { max_attempts: 3, backoff_seconds: 0 } } });
    agent.script(
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'json', body: { third: 'time lucky' } },
    );

    // Act
    const { execution_id } = await client.jobs.trigger(job.id);
    const execution = await waitForExecution(client, job.id, execution_id);

    // Assess
    expect(agent.requests.map((r) => r.body.attempt)).toEqual([1, 2, 3]);
    expect(execution).toMatchObject({
      status: 'succeeded',
      attempt: 3,
      output: { third: 'time lucky' },
      error_message: null,
    });
  });

  it('fails at once, without retrying, when the target answers 400', async () => {
    // Prepare
    const { agent, job, queue } = await agentJob({
      config: { retry: { max_attempts: 3, backoff_seconds: 0 } },
    });
    agent.script({ kind: 'status', status: 400, body: 'unknown tool' });

    // Act
    const { execution_id } = await client.jobs.trigger(job.id);
    const execution = await waitForExecution(client, job.id, execution_id);
    await queueSettled(queue);

    // Assess
    expect(agent.requests).toHaveLength(1);
    expect(execution).toMatchObject({ status: 'failed', attempt: 1, output: null });
    expect(execution.error_message).toContain('HTTP 400');
  });

  it('records timed_out when the target is slower than config.timeout, without retrying past the deadline', async () => {
    // Prepare
    const { agent, job, queue } = await agentJob({
      config: { timeout: 2, retry: { max_attempts: 3, backoff_seconds: 0 } },
    });
    agent.script({ kind: 'sleep', ms: 10_000 });

    // Act
    const { execution_id } = await client.jobs.trigger(job.id);
    const execution = await waitForExecution(client, job.id, execution_id);
    await queueSettled(queue);

    // Assess
    expect(agent.requests).toHaveLength(1);
    expect(execution).toMatchObject({ status: 'timed_out', attempt: 1, output: null });
    expect(execution.error_message).toEqual(expect.any(String));
    expect(Date.parse(execution.deadline_at ?? '') - Date.parse(execution.started_at ?? '')).toBe(2000);
    expect(Date.parse(execution.finished_at ?? '')).toBeGreaterThanOrEqual(
      Date.parse(execution.deadline_at ?? ''),
    );
    expect(finishedRunShape(execution)).toEqual({ started: true, finished: true, duration: true });
  });

  it('lets the sweeper time out an accepted (202) run whose callback never comes; a late callback is 409', async () => {
    // Prepare
    const { agent, job } = await agentJob({ config: { timeout: 1 } });
    agent.script({ kind: 'accept' });

    // Act
    const { execution_id } = await client.jobs.trigger(job.id);
    const [request] = await agent.waitForRequests(1);
    const execution = await waitForExecution(client, job.id, execution_id, { onPoll: () => runtime.sweep() });
    const late = await agent.callBack(request as NonNullable<typeof request>, {
      status: 'succeeded',
      output: 'late',
    });

    // Assess
    expect(execution).toMatchObject({
      status: 'timed_out',
      output: null,
      error_message: 'No result within the 1 s timeout.',
    });
    expect(finishedRunShape(execution)).toEqual({ started: true, finished: true, duration: true });
    expect(late.status).toBe(409);
    expect((await client.jobs.getExecution(job.id, execution_id)).status).toBe('timed_out');
  });

  it('finishes an accepted (202) run by the callback; a second callback is 409 and a wrong token 401', async () => {
    // Prepare
    const { agent, job } = await agentJob();
    agent.script(
      { kind: 'accept', delayMs: 50, callback: { status: 'succeeded', output: { report: 'all green' } } },
      { kind: 'accept', delayMs: 50, callback: { status: 'failed', error_message: 'tests are red' } },
    );

    // Act
    const first = await client.jobs.trigger(job.id);
    const succeeded = await waitForExecution(client, job.id, first.execution_id);
    const second = await client.jobs.trigger(job.id);
    const failed = await waitForExecution(client, job.id, second.execution_id);
    const callbacks = await agent.waitForCallbacks(2);
    const request = agent.requests[0] as NonNullable<(typeof agent.requests)[0]>;
    const again = await agent.callBack(request, { status: 'failed', error_message: 'changed my mind' });
    const forged = await agent.callBack(
      request,
      { status: 'failed' },
      `${job.id}.${randomBytes(32).toString('base64url')}`,
    );
    const withApiKey = await agent.callBack(request, { status: 'failed' }, runtime.apiKey);
    const after = await client.jobs.getExecution(job.id, first.execution_id);

    // Assess
    expect(callbacks.map((c) => [c.executionId, c.status])).toEqual([
      [first.execution_id, 200],
      [second.execution_id, 200],
    ]);
    expect(succeeded).toMatchObject({
      status: 'succeeded',
      output: { report: 'all green' },
      error_message: null,
    });
    expect(finishedRunShape(succeeded)).toEqual({ started: true, finished: true, duration: true });
    expect(failed).toMatchObject({ status: 'failed', output: null, error_message: 'tests are red' });
    expect(again.status).toBe(409);
    expect(forged.status).toBe(401);
    expect(withApiKey.status).toBe(401);
    expect(after).toEqual(succeeded);
    expect(agent.requests).toHaveLength(2);
  });

  it('runs a message delivered twice (while running and after finishing) once: one execution, one agent call', async () => {
    // Prepare
    const { agent, job, queue } = await agentJob();
    agent.script({ kind: 'hold', reply: { kind: 'json', body: { once: true } } });
    const { execution_id } = await client.jobs.trigger(job.id);
    const message: RunMessage = { job_id: job.id, execution_id, attempt: 1 };
    await agent.waitForRequests(1);

    // Act
    await runtime.queues.send(queue, message); // while the first delivery is running
    // Received while the run is held under a live lease, the duplicate is kept for after the lease (in case
    // the holder dies) rather than deleted.
    await until(() => {
      const [, duplicate] = runtime.queues.messages(queue);
      return (duplicate?.receiveCount ?? 0) >= 1 && runtime.queues.inFlight(queue) === 1;
    }, 'the duplicate to be received and kept');
    agent.release();
    const execution = await waitForExecution(client, job.id, execution_id);
    await queueSettled(queue); // the duplicate comes back once the lease has lapsed, finds the run finished
    await runtime.queues.send(queue, message); // after it finished
    await queueSettled(queue);
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(agent.requests).toHaveLength(1);
    expect(execution).toMatchObject({ status: 'succeeded', attempt: 1, output: { once: true } });
    expect(history.total_count).toBe(1);
    expect(history.executions).toEqual([execution]);
  });

  it('redelivers the run of a worker that died mid-run: the next delivery finishes the same execution as attempt 2', async () => {
    // Prepare
    // A worker cannot die inside this process: the runtime's worker always returns within its budget,
    // and the local queue cannot kill a handler. So the worker that dies is a second instance of the real
    // RunWorker over the runtime's own table and key file, whose target invocation never returns: it
    // claims the run (queued → running, leased for its 300 ms budget) and then vanishes, as a Lambda
    // killed mid-invoke does. Meanwhile the trigger's message is kept from the runtime's queue (as SQS
    // hides a received message) and is handed to it once the lease has lapsed, as SQS redelivers it after
    // its visibility timeout (a minute after the function timeout, so always after the lease).
    const leaseMs = 300;
    const { agent, job, queue } = await agentJob({
      config: { retry: { max_attempts: 2, backoff_seconds: 0 } },
    });
    agent.script({ kind: 'json', body: { recovered: true } });
    const held = holdMessages(job.id);
    const dead = await doomedWorker();
    const { execution_id } = await client.jobs.trigger(job.id);
    const [delivery] = held.messages;
    void dead.worker.handle((delivery as NonNullable<typeof delivery>).message, leaseMs);
    await until(() => dead.invoked.length === 1, 'the doomed worker to invoke the target');
    const running = await client.jobs.getExecution(job.id, execution_id);
    await sleep(leaseMs + 200);

    // Act
    await held.deliver();
    const execution = await waitForExecution(client, job.id, execution_id);
    await queueSettled(queue);
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(held.messages).toEqual([]);
    expect(delivery?.message).toEqual({ job_id: job.id, execution_id, attempt: 1 });
    expect(running).toMatchObject({ status: 'running', attempt: 1 });
    expect(dead.invoked.map((r) => [r.execution_id, r.attempt])).toEqual([[execution_id, 1]]);
    expect(agent.requests.map((r) => [r.body.execution_id, r.body.attempt, r.signatureValid])).toEqual([
      [execution_id, 2, true],
    ]);
    expect(execution).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      output: { recovered: true },
      error_message: null,
      started_at: running.started_at,
      deadline_at: running.deadline_at,
    });
    expect(history.total_count).toBe(1);
    expect(history.executions.map((e) => e.execution_id)).toEqual([execution_id]);
  });

  it('fails, without calling the target again, a run whose only attempt died mid-run', async () => {
    // Prepare (see the test above for how the worker dies)
    const leaseMs = 300;
    const { agent, job, queue } = await agentJob();
    const held = holdMessages(job.id);
    const dead = await doomedWorker();
    const { execution_id } = await client.jobs.trigger(job.id);
    const [delivery] = held.messages;
    void dead.worker.handle((delivery as NonNullable<typeof delivery>).message, leaseMs);
    await until(() => dead.invoked.length === 1, 'the doomed worker to invoke the target');
    await sleep(leaseMs + 200);

    // Act
    await held.deliver();
    const execution = await waitForExecution(client, job.id, execution_id);
    await queueSettled(queue);
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(agent.requests).toHaveLength(0);
    expect(execution).toMatchObject({ status: 'failed', max_attempts: 1, output: null });
    expect(execution.error_message).toMatch(/worker stopped/i);
    expect(execution.duration_ms).toEqual(expect.any(Number));
    expect(history.total_count).toBe(1);
  });

  it('records skipped for a trigger while a run is active under overlap_policy skip, and runs again after it', async () => {
    // Prepare
    const { agent, job } = await agentJob({ config: { overlap_policy: 'skip' } });
    agent.script({ kind: 'hold' }, { kind: 'json', body: { run: 'next' } });
    const first = await client.jobs.trigger(job.id);
    await agent.waitForRequests(1);

    // Act
    const second = await client.jobs.trigger(job.id);
    agent.release();
    await waitForExecution(client, job.id, first.execution_id);
    const third = await client.jobs.trigger(job.id);
    await waitForExecution(client, job.id, third.execution_id);
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(second.status).toBe('skipped');
    expect(third.status).toBe('queued');
    expect(agent.requests.map((r) => r.body.execution_id)).toEqual([first.execution_id, third.execution_id]);
    expect(history.total_count).toBe(3);
    expect(history.executions.map((e) => [e.execution_id, e.status])).toEqual([
      [third.execution_id, 'succeeded'],
      [second.execution_id, 'skipped'],
      [first.execution_id, 'succeeded'],
    ]);
    expect(history.executions[1]).toMatchObject({ started_at: null, duration_ms: null, error_message: null });
  });

  it('cancels a queued run (its message later does nothing) and a running run (its late answer is ignored)', async () => {
    // Prepare
    const { agent, job, queue } = await agentJob();
    agent.script({ kind: 'hold', reply: { kind: 'json', body: { too: 'late' } } });
    const held = holdMessages(job.id);
    const queued = await client.jobs.trigger(job.id);
    const [queuedMessage] = held.messages;

    // Act
    const cancelledQueued = await client.jobs.cancelExecution(job.id, queued.execution_id);
    await held.deliver();
    const running = await client.jobs.trigger(job.id);
    await agent.waitForRequests(1);
    const cancelledRunning = await client.jobs.cancelExecution(job.id, running.execution_id);
    agent.release();
    await queueSettled(queue);
    const again = await rejection(client.jobs.cancelExecution(job.id, running.execution_id));
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(queuedMessage?.message.execution_id).toBe(queued.execution_id);
    expect(cancelledQueued).toMatchObject({ status: 'cancelled', started_at: null, duration_ms: null });
    expect(cancelledQueued.finished_at).toEqual(expect.any(String));
    expect(agent.requests.map((r) => r.body.execution_id)).toEqual([running.execution_id]);
    expect(cancelledRunning).toMatchObject({ status: 'cancelled', output: null });
    expect(finishedRunShape(cancelledRunning)).toEqual({ started: true, finished: true, duration: true });
    expect(again).toMatchObject({ status: 409, code: 'conflict' });
    expect(history.executions.map((e) => [e.execution_id, e.status, e.output])).toEqual([
      [running.execution_id, 'cancelled', null],
      [queued.execution_id, 'cancelled', null],
    ]);
  });
});

describe('runs: what the API refuses', () => {
  it('answers 409 to a trigger of a disabled job and records nothing', async () => {
    // Prepare
    const { agent, job } = await agentJob();
    await client.jobs.disable(job.id);

    // Act
    const error = await rejection(client.jobs.trigger(job.id));
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(error).toMatchObject({ status: 409, code: 'conflict' });
    expect(error.message).toMatch(/disabled/);
    expect(history).toEqual({ total_count: 0, executions: [], next_cursor: null });
    expect(agent.requests).toHaveLength(0);
  });

  it('answers 422 listing every missing template parameter, and records nothing', async () => {
    // Prepare
    const { job } = await agentJob({
      template: 'Rollback {{ service_name }} to {{version}} in {{ region.name }} ({{ service_name }})',
    });

    // Act
    const error = await rejection(
      client.jobs.trigger(job.id, { parameters: { service_name: 'api', version: null, region: {} } }),
    );
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    expect(error).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(error.details.map((d) => d.path)).toEqual(['parameters.version', 'parameters.region.name']);
    expect(error.message).toContain('version');
    expect(error.message).toContain('region.name');
    expect(history.total_count).toBe(0);
  });

  it('answers 409 to deleting an entity a job references, and deletes it once the job is gone', async () => {
    // Prepare
    const { entity, job } = await agentJob();

    // Act
    const error = await rejection(client.entities.delete(entity.id));
    const stillThere = await client.entities.get(entity.id);
    await client.jobs.delete(job.id);
    await client.entities.delete(entity.id);
    const gone = await rejection(client.entities.get(entity.id));

    // Assess
    expect(error).toMatchObject({ status: 409, code: 'conflict' });
    expect(stillThere.id).toBe(entity.id);
    expect(gone).toMatchObject({ status: 404 });
  });

  it('answers 422 to a job without an entity when the deployment has no default entity', async () => {
    // Prepare
    const fresh = await startTestRuntime();
    onTestFinished(() => fresh.cleanup());
    const freshClient = new ControlPlaneClient({ baseUrl: fresh.url, apiKey: fresh.apiKey });
    const body = {
      name: 'Emergency Rollback',
      trigger_type: 'manual' as const,
      planning_mode: 'predefined_workflow' as const,
      prompt_template: 'Rollback service {{ service_name }}',
    };

    // Act
    const error = await rejection(freshClient.jobs.create(body));
    const jobs = await freshClient.jobs.list();
    await freshClient.entities.create({
      type: 'workflow',
      name: 'Default',
      target: { type: 'echo' },
      default: true,
    });
    const job = await freshClient.jobs.create(body);

    // Assess
    expect(error).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(error.details).toEqual([
      expect.objectContaining({ path: 'entity_id', code: 'no_default_entity' }),
    ]);
    expect(error.message).toMatch(/no default entity/);
    expect(jobs).toEqual([]);
    expect(job.entity_id).toBeNull();
  });

  it('returns an http entity signing secret once, at creation, and never again', async () => {
    // Prepare
    const created = (await client.entities.create({
      type: 'agent',
      name: 'Secretive agent',
      target: { type: 'http', url: 'http://127.0.0.1:9/never-called' },
    })) as EntityWithSecret;
    const secret = created.signing_secret;

    // Act
    const fetched = await client.entities.get(created.id);
    const listed = (await client.entities.list()).find((entity) => entity.id === created.id);
    const renamed = await client.entities.update(created.id, { name: 'Renamed agent' });
    const raw = await fetch(`${runtime.url}/entities/${created.id}`, {
      headers: { authorization: `Bearer ${runtime.apiKey}` },
    }).then((response) => response.text());

    // Assess
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(32);
    expect(fetched).not.toHaveProperty('signing_secret');
    expect(listed).toBeDefined();
    expect(listed).not.toHaveProperty('signing_secret');
    expect(renamed).not.toHaveProperty('signing_secret');
    expect(renamed.name).toBe('Renamed agent');
    expect(raw).not.toContain(secret.slice('whsec_'.length));
  });
});

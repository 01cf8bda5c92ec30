import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { entitySecretContext } from '../../shared/app/entity-service.js';
import { hashToken } from '../../shared/app/run-helpers.js';
import { RunWorker } from '../../shared/app/run-worker.js';
import type { EntityTarget } from '../../shared/domain/entity.js';
import { type ExecutionRequest, MAX_OUTPUT_BYTES } from '../../shared/domain/execution.js';
import type { JobCreateInput } from '../../shared/domain/job.js';
import type { RunMessage, TargetInvoker, TargetOutcome } from '../../shared/ports.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  makeEntity,
  openDeployment,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { services } from '../support/services.js';

const START = Date.parse('2025-06-01T10:00:00.000Z');
const BUDGET_MS = 60_000;
const SIGNING_SECRET = 'whsec_dGVzdC1zaWduaW5nLXNlY3JldC10ZXN0LXNpZ25pbmc=';
const iso = (millis: number) => new Date(millis).toISOString();

type Step = TargetOutcome | Error;

interface InvokeCall {
  target: EntityTarget;
  request: ExecutionRequest;
  options: { signingSecret: string | null; timeoutMs: number };
}

/**
 * A target that answers from a script, one step per invocation (an `Error` is a worker dying mid-call),
 * taking `elapsedMs` of the manual clock each time.
 */
class ScriptedTarget implements TargetInvoker {
  readonly calls: InvokeCall[] = [];
  elapsedMs = 0;

  constructor(
    private readonly clock: ManualClock,
    private readonly steps: Step[] = [],
  ) {}

  script(...steps: Step[]): void {
    this.steps.push(...steps);
  }

  async invoke(
    target: EntityTarget,
    request: ExecutionRequest,
    options: { signingSecret: string | null; timeoutMs: number },
  ): Promise<TargetOutcome> {
    this.calls.push({ target, request, options });
    this.clock.advance(this.elapsedMs);
    const step = this.steps.shift() ?? { kind: 'succeeded', output: null };
    if (step instanceof Error) throw step;
    return step;
  }
}

const retryable = (error = 'HTTP 503'): TargetOutcome => ({
  kind: 'failed',
  error,
  retryable: true,
  timedOut: false,
});

/** A worker over in-memory stores; runs are started through RunService, as a trigger starts them. */
async function setup() {
  const clock = new ManualClock(START);
  const ids = sequentialIds(clock);
  const secrets = new FakeSecretBox();
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  await entities.create(
    makeEntity({ id: 'http-agent', target: { type: 'http', url: 'https://agent.example.com/run' } }),
    await secrets.seal(SIGNING_SECRET, entitySecretContext('http-agent')),
  );
  const jobStore = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const queue = new RecordingQueue();
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  const deployment = openDeployment({
    environments: { staging: { queue: 'staging-workers', variables: { REGION: 'eu-west-1' } } },
  });
  const target = new ScriptedTarget(clock);
  const { jobs, runs } = services({ jobStore, entities, executions, queue, deployment, clock, ids, logger });
  const worker = new RunWorker({
    entities,
    executions,
    queue,
    secrets,
    invoker: target,
    deployment,
    clock,
    logger,
  });

  /** Creates a job, triggers it and returns the message the trigger sent (the queue is then emptied). */
  const start = async (body: Partial<JobCreateInput> = {}, parameters: Record<string, unknown> = {}) => {
    const job = await jobs.create({ name: 'job', trigger_type: 'manual', prompt_template: 'Do it', ...body });
    await runs.trigger(job.id, { parameters });
    const sent = queue.sent.splice(0);
    expect(sent).toHaveLength(1);
    return (sent[0] as { message: RunMessage }).message;
  };
  const stored = async (message: RunMessage) => {
    const found = await executions.get(message.job_id, message.execution_id);
    if (!found) throw new Error('the execution should exist');
    return found;
  };
  return {
    clock,
    entities,
    executions,
    queue,
    target,
    worker,
    jobs,
    runs,
    start,
    stored,
    logEntries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('RunWorker', () => {
  it('records a cron run’s lateness, from its scheduled time to when a worker started it', async () => {
    // Prepare
    const run = await setup();
    const job = await run.jobs.create({
      name: 'nightly',
      trigger_type: 'cron',
      cron_schedule: '* * * * *',
      prompt_template: 'Do it',
    });
    const scheduled = new Date(START).toISOString();
    run.clock.advance(1_500);
    await run.runs.dispatchCron(job.id, scheduled);
    const [sent] = run.queue.sent.splice(0);
    if (!sent) throw new Error('the fire should have sent a run message');
    run.clock.advance(2_000);
    run.target.script({ kind: 'succeeded', output: 'done' });

    // Act
    await run.worker.handle(sent.message, 60_000);

    // Assess
    expect((await run.stored(sent.message)).execution).toMatchObject({
      status: 'succeeded',
      scheduled_at: scheduled,
      started_at: new Date(START + 3_500).toISOString(),
      lateness_ms: 3_500,
    });
  });

  it('invokes the target with the rendered request and records success with output and duration', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start(
      {
        prompt_template: 'Deploy {{ branch }}',
        system_prompt: 'Careful',
        config: { timeout: 600, model: 'm' },
      },
      { branch: 'main' },
    );
    run.target.elapsedMs = 1500;
    run.target.script({ kind: 'succeeded', output: { deployed: true } });

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    const { execution, leaseUntil } = await run.stored(message);
    expect(execution).toMatchObject({
      status: 'succeeded',
      output: { deployed: true },
      output_truncated: false,
      error_message: null,
      attempt: 1,
      started_at: iso(START),
      finished_at: iso(START + 1500),
      duration_ms: 1500,
      deadline_at: iso(START + 600_000),
    });
    expect(leaseUntil).toBeNull();
    expect(run.target.calls).toHaveLength(1);
    const call = run.target.calls[0] as InvokeCall;
    expect(call.target).toEqual({ type: 'echo' });
    expect(call.options).toEqual({ signingSecret: null, timeoutMs: BUDGET_MS - 5000 });
    expect(call.request).toMatchObject({
      execution_id: message.execution_id,
      job_id: message.job_id,
      entity: { id: 'echo', type: 'agent', name: 'echo' },
      trigger_type: 'manual',
      prompt: 'Deploy main',
      system_prompt: 'Careful',
      parameters: { branch: 'main' },
      config: { timeout: 600, model: 'm' },
      environment: null,
      attempt: 1,
      deadline_at: iso(START + 600_000),
      callback: { url: `http://127.0.0.1:3000/executions/${message.execution_id}/callback` },
    });
    expect(call.request.callback.token.startsWith(`${message.job_id}.`)).toBe(true);
    expect((await run.stored(message)).callbackTokenHash).toBe(hashToken(call.request.callback.token));
  });

  it('opens the entity’s signing secret for an http target and passes the environment’s variables', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: 'http-agent',
      executor_type: 'environment',
      environment_name: 'staging',
    });

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    const call = run.target.calls[0] as InvokeCall;
    expect(call.target).toEqual({ type: 'http', url: 'https://agent.example.com/run' });
    expect(call.options.signingSecret).toBe(SIGNING_SECRET);
    expect(call.request.environment).toEqual({ name: 'staging', variables: { REGION: 'eu-west-1' } });
  });

  it('leaves an accepted (202) run running, its lease held and its message kept until the deadline', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({ config: { timeout: 120 } });
    run.target.script({ kind: 'accepted' });

    // Act
    const outcome = await run.worker.handle(message, BUDGET_MS);

    // Assess
    const stored = await run.stored(message);
    expect(stored.execution).toMatchObject({
      status: 'running',
      finished_at: null,
      deadline_at: iso(START + 120_000),
    });
    expect(stored.leaseUntil).toBe(iso(START + 120_000));
    expect(outcome).toEqual({ kind: 'later', afterSeconds: 120 });
  });

  it('times out an accepted run whose callback never came when its message comes back at the deadline', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({ config: { timeout: 120 } });
    run.target.script({ kind: 'accepted' });
    const kept = await run.worker.handle(message, BUDGET_MS);
    run.clock.advance(kept.kind === 'later' ? kept.afterSeconds * 1000 : 0);

    // Act
    const outcome = await run.worker.handle(message, BUDGET_MS);
    const again = await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(outcome).toEqual({ kind: 'done' });
    expect(again).toEqual({ kind: 'done' });
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'timed_out',
      error_message: 'No result within the 120 s timeout.',
      finished_at: iso(START + 120_000),
      duration_ms: 120_000,
    });
    expect(run.target.calls).toHaveLength(1);
  });

  it('fails a run that waited in its queue longer than its timeout, without invoking the target', async () => {
    // Prepare: no worker took the run for longer than it may run.
    const run = await setup();
    const message = await run.start({ config: { timeout: 300 } });
    run.clock.advance(301_000);

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    const { execution } = await run.stored(message);
    expect(execution).toMatchObject({ status: 'failed', finished_at: iso(START + 301_000) });
    expect(execution.error_message).toContain('300 s timeout');
    expect(execution.error_message).toContain('"default"');
    expect(run.target.calls).toHaveLength(0);
  });

  it('re-queues a retryable failure with the next attempt and the doubled backoff, then fails at max attempts', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({ config: { retry: { max_attempts: 3, backoff_seconds: 10 } } });
    run.target.script(retryable('HTTP 503'), retryable('HTTP 502'), retryable('HTTP 500'));

    // Act
    await run.worker.handle(message, BUDGET_MS);
    const afterFirst = (await run.stored(message)).execution;
    const second = run.queue.sent[0]?.message as RunMessage;
    await run.worker.handle(second, BUDGET_MS);
    const third = run.queue.sent[1]?.message as RunMessage;
    await run.worker.handle(third, BUDGET_MS);

    // Assess
    expect(afterFirst).toMatchObject({ status: 'queued', attempt: 2, error_message: 'HTTP 503' });
    expect(run.queue.sent).toEqual([
      { queue: 'default', message: { ...message, attempt: 2 }, delaySeconds: 10 },
      { queue: 'default', message: { ...message, attempt: 3 }, delaySeconds: 20 },
    ]);
    expect(run.target.calls.map((call) => call.request.attempt)).toEqual([1, 2, 3]);
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'failed',
      attempt: 3,
      error_message: 'HTTP 500',
      started_at: iso(START),
    });
  });

  it('fails a non-retryable failure at once, with retries left', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({ config: { retry: { max_attempts: 5 } } });
    run.target.script({ kind: 'failed', error: 'HTTP 400: bad prompt', retryable: false, timedOut: false });

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'failed',
      attempt: 1,
      error_message: 'HTTP 400: bad prompt',
    });
    expect(run.queue.sent).toEqual([]);
  });

  it('fails a retryable failure when the only attempt is used up (the default)', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.target.script(retryable('connect ECONNREFUSED'));

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'failed',
      attempt: 1,
      max_attempts: 1,
    });
    expect(run.queue.sent).toEqual([]);
  });

  it('fails rather than retries when the backoff would end past the deadline', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({
      config: { timeout: 60, retry: { max_attempts: 3, backoff_seconds: 120 } },
    });
    run.target.script(retryable());

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution.status).toBe('failed');
    expect(run.queue.sent).toEqual([]);
  });

  it('records timed_out when the target timed out past the run’s deadline', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({ config: { timeout: 30, retry: { max_attempts: 3 } } });
    run.target.elapsedMs = 31_000;
    run.target.script({ kind: 'failed', error: 'timed out after 30000 ms', retryable: true, timedOut: true });

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'timed_out',
      error_message: 'timed out after 30000 ms',
      duration_ms: 31_000,
    });
    expect(run.queue.sent).toEqual([]);
    expect((run.target.calls[0] as InvokeCall).options.timeoutMs).toBe(30_000);
  });

  it('retries a target that timed out within the worker’s budget but before the run’s deadline', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({
      config: { timeout: 3600, retry: { max_attempts: 2, backoff_seconds: 1 } },
    });
    run.target.elapsedMs = BUDGET_MS - 5000;
    run.target.script({ kind: 'failed', error: 'timed out', retryable: true, timedOut: true });

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({ status: 'queued', attempt: 2 });
    expect(run.queue.sent.map((sent) => sent.message.attempt)).toEqual([2]);
  });

  it('times out a run whose deadline passed while it waited to be retried, without invoking the target', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({
      config: { timeout: 60, retry: { max_attempts: 2, backoff_seconds: 5 } },
    });
    run.target.script(retryable());
    await run.worker.handle(message, BUDGET_MS);
    const retry = run.queue.sent[0]?.message as RunMessage;
    run.clock.advance(61_000);

    // Act
    await run.worker.handle(retry, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'timed_out',
      error_message: 'The deadline passed before the run could start.',
    });
    expect(run.target.calls).toHaveLength(1);
  });

  it('does nothing for a duplicate delivery of a run another worker has claimed', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.target.script({ kind: 'accepted' });
    await run.worker.handle(message, BUDGET_MS);
    const before = await run.stored(message);

    // Act
    const outcome = await run.worker.handle(message, BUDGET_MS);

    // Assess: the target has the run; the duplicate, like the first copy, waits for the deadline.
    expect(outcome).toEqual({ kind: 'later', afterSeconds: 3600 });
    expect(run.target.calls).toHaveLength(1);
    expect(await run.stored(message)).toEqual(before);
  });

  it('sends the current attempt again when a message of an earlier attempt finds the run waiting for its retry', async () => {
    // Prepare: attempt 1 fails retryably and the retry is queued, but its message is lost (the worker
    // died between the two writes), so only attempt 1's undeleted message comes back.
    const run = await setup();
    const message = await run.start({ config: { retry: { max_attempts: 3, backoff_seconds: 10 } } });
    run.target.script(retryable());
    await run.worker.handle(message, BUDGET_MS);
    const lost = run.queue.sent.splice(0);

    // Act
    const outcome = await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(lost.map((sent) => sent.message.attempt)).toEqual([2]);
    expect(outcome).toEqual({ kind: 'done' });
    expect(run.queue.sent).toEqual([
      expect.objectContaining({ message: { ...message, attempt: 2 }, delaySeconds: 10 }),
    ]);
    expect(run.target.calls).toHaveLength(1);
    expect((await run.stored(message)).execution).toMatchObject({ status: 'queued', attempt: 2 });
  });

  it('keeps a message for later while another worker holds the run under a live lease', async () => {
    // Prepare: a worker claims the run and dies mid-call; its lease runs for the worker's budget.
    const run = await setup();
    const message = await run.start({ config: { retry: { max_attempts: 2 } } });
    run.target.script(new Error('worker process killed'), { kind: 'succeeded', output: 'taken over' });
    await expect(run.worker.handle(message, BUDGET_MS)).rejects.toThrow('worker process killed');
    run.clock.advance(20_000);
    const before = await run.stored(message);

    // Act: the message comes back (a restart, or SQS's visibility timeout) while the lease still holds.
    const early = await run.worker.handle(message, BUDGET_MS);
    const afterEarly = await run.stored(message);
    run.clock.advance(early.kind === 'later' ? early.afterSeconds * 1000 : 0);
    const late = await run.worker.handle(message, BUDGET_MS);

    // Assess: not acknowledged (the run would be lost with its worker), but asked again once the lease
    // has lapsed, and then taken over as the next attempt.
    expect(early).toEqual({ kind: 'later', afterSeconds: 41 });
    expect(afterEarly).toEqual(before);
    expect(late).toEqual({ kind: 'done' });
    expect(run.target.calls.map((call) => call.request.attempt)).toEqual([1, 2]);
    expect((await run.stored(message)).execution).toMatchObject({ status: 'succeeded', attempt: 2 });
  });

  it('invokes the target once when the same message is delivered to two workers at once', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();

    // Act
    await Promise.all([run.worker.handle(message, BUDGET_MS), run.worker.handle(message, BUDGET_MS)]);

    // Assess
    expect(run.target.calls).toHaveLength(1);
    expect((await run.stored(message)).execution).toMatchObject({ status: 'succeeded', attempt: 1 });
  });

  it('does nothing for a message of a run that has finished', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    await run.worker.handle(message, BUDGET_MS);
    const finished = await run.stored(message);

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(run.target.calls).toHaveLength(1);
    expect(await run.stored(message)).toEqual(finished);
  });

  it('takes over a run whose worker died once its lease has lapsed, as the next attempt', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({ config: { retry: { max_attempts: 2 } } });
    run.target.script(new Error('worker process killed'), { kind: 'succeeded', output: 'second time' });
    await expect(run.worker.handle(message, BUDGET_MS)).rejects.toThrow('worker process killed');
    run.clock.advance(BUDGET_MS - 1000);
    await run.worker.handle(message, BUDGET_MS);
    const whileLeased = run.target.calls.length;
    run.clock.advance(2000);

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(whileLeased).toBe(1);
    expect(run.target.calls.map((call) => call.request.attempt)).toEqual([1, 2]);
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      output: 'second time',
      started_at: iso(START),
    });
  });

  it('fails a run whose worker died on its last attempt instead of taking it over', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.target.script(new Error('worker process killed'));
    await expect(run.worker.handle(message, BUDGET_MS)).rejects.toThrow('worker process killed');
    run.clock.advance(BUDGET_MS + 1000);

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(run.target.calls).toHaveLength(1);
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'failed',
      error_message: 'The worker stopped during every attempt.',
    });
  });

  it('truncates an output over 64 KiB and flags it', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.target.script({ kind: 'succeeded', output: { log: '€'.repeat(40_000) } });

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    const { execution } = await run.stored(message);
    expect(execution.status).toBe('succeeded');
    expect(execution.output_truncated).toBe(true);
    expect(typeof execution.output).toBe('string');
    const text = execution.output as string;
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(Buffer.byteLength(text, 'utf8')).toBeGreaterThan(MAX_OUTPUT_BYTES - 4);
    expect(text.startsWith('{"log":"€€€')).toBe(true);
    expect(text).not.toContain('\uFFFD');
  });

  it('keeps an output of exactly 64 KiB whole', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    const output = 'x'.repeat(MAX_OUTPUT_BYTES - 2);
    run.target.script({ kind: 'succeeded', output });

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({ output, output_truncated: false });
  });

  it('fails the run when its entity no longer exists', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    expect(await run.entities.delete('echo')).toBe('deleted');

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(run.target.calls).toEqual([]);
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'failed',
      error_message: 'Entity "echo" no longer exists.',
    });
  });

  it('ends a run whose message is abandoned to the dead-letter queue as failed, with the reason', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    const finished = await run.start();
    await run.worker.handle(finished, BUDGET_MS);
    const finishedBefore = await run.stored(finished);

    // Act
    await run.worker.abandon(message, 'Processing failed on all 5 deliveries: boom');
    await run.worker.abandon(finished, 'too late');

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'failed',
      error_message: 'Processing failed on all 5 deliveries: boom',
    });
    expect(await run.stored(finished)).toEqual(finishedBefore);
  });
});

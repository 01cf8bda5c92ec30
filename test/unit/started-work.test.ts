import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { RunWorker } from '../../shared/app/run-worker.js';
import type { JobCreateInput } from '../../shared/domain/job.js';
import type { RunMessage, StartedWorkState, TargetInvoker, TargetOutcome } from '../../shared/ports.js';
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
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:orders';
const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:orders:exec_1';

/** A Step Functions-like target: its start outcome and its checks come from scripts; stops are recorded. */
class ScriptedStateMachine implements TargetInvoker {
  started: TargetOutcome = { kind: 'started', ref: EXECUTION_ARN };
  readonly states: StartedWorkState[] = [];
  readonly checked: string[] = [];
  readonly stopped: { ref: string; reason: string }[] = [];
  /** Runs while the start is in flight (a cancel racing it). */
  duringStart: (() => Promise<void>) | null = null;

  async invoke(): Promise<TargetOutcome> {
    await this.duringStart?.();
    return this.started;
  }

  async check(ref: string): Promise<StartedWorkState> {
    this.checked.push(ref);
    return this.states.shift() ?? { kind: 'running' };
  }

  async stop(ref: string, reason: string): Promise<void> {
    this.stopped.push({ ref, reason });
  }
}

async function setup() {
  const clock = new ManualClock(START);
  const ids = sequentialIds(clock);
  const entities = new MemoryEntityStore();
  await entities.create(
    makeEntity({
      id: 'orders',
      type: 'workflow',
      default: true,
      target: { type: 'stepfunctions', state_machine_arn: MACHINE },
    }),
    null,
  );
  const jobStore = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const queue = new RecordingQueue();
  const logger = createLogger({ level: 'silent' });
  const deployment = openDeployment();
  const machine = new ScriptedStateMachine();
  const { jobs, runs } = services({ jobStore, entities, executions, queue, deployment, clock, ids, logger });
  const worker = new RunWorker({
    entities,
    executions,
    queue,
    secrets: new FakeSecretBox(),
    invoker: machine,
    deployment,
    clock,
    logger,
  });

  const start = async (body: Partial<JobCreateInput> = {}) => {
    const job = await jobs.create({
      name: 'orders',
      trigger_type: 'manual',
      prompt_template: 'Ship',
      ...body,
    });
    await runs.trigger(job.id, {});
    return (queue.sent.splice(0)[0] as { message: RunMessage }).message;
  };
  const stored = async (message: RunMessage) => {
    const found = await executions.get(message.job_id, message.execution_id);
    if (!found) throw new Error('the execution should exist');
    return found;
  };
  /** Takes the check message the worker left, moving the clock to when it is delivered. */
  const nextCheck = () => {
    const sent = queue.sent.splice(0);
    expect(sent).toHaveLength(1);
    const check = sent[0] as { message: RunMessage; delaySeconds?: number };
    clock.advance((check.delaySeconds ?? 0) * 1000);
    return check;
  };
  return { clock, queue, machine, worker, runs, start, stored, nextCheck };
}

describe('RunWorker with a target that starts work (Step Functions)', () => {
  it('records the execution ARN, keeps the run running and leaves one delayed message for the first check', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();

    // Act
    const outcome = await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(outcome).toEqual({ kind: 'done' });
    const { execution, leaseUntil } = await run.stored(message);
    expect(execution.status).toBe('running');
    expect(execution.target_execution_arn).toBe(EXECUTION_ARN);
    expect(run.queue.sent).toEqual([{ queue: 'default', message, delaySeconds: 2 }]);
    expect(leaseUntil).toBe(new Date(START + 2_000).toISOString());
  });

  it('checks until the execution ends, each check leaving the next, and records its output', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.machine.states.push(
      { kind: 'running' },
      { kind: 'running' },
      { kind: 'succeeded', output: { shipped: 3 } },
    );
    await run.worker.handle(message, BUDGET_MS);

    // Act
    const delays: (number | undefined)[] = [];
    for (let check = 0; check < 3; check++) {
      const next = run.nextCheck();
      delays.push(next.delaySeconds);
      expect(await run.worker.handle(next.message, BUDGET_MS)).toEqual({ kind: 'done' });
    }

    // Assess
    expect(run.machine.checked).toEqual([EXECUTION_ARN, EXECUTION_ARN, EXECUTION_ARN]);
    expect(delays).toEqual([2, 2, 2]);
    expect(run.queue.sent).toEqual([]);
    const { execution } = await run.stored(message);
    expect(execution).toMatchObject({
      status: 'succeeded',
      output: { shipped: 3 },
      error_message: null,
      target_execution_arn: EXECUTION_ARN,
      duration_ms: 6_000,
    });
  });

  it('waits longer between checks as the execution runs longer, up to a minute', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    await run.worker.handle(message, BUDGET_MS);

    // Act
    const delays: (number | undefined)[] = [];
    for (let check = 0; check < 12; check++) {
      const next = run.nextCheck();
      delays.push(next.delaySeconds);
      await run.worker.handle(next.message, BUDGET_MS);
    }

    // Assess
    expect(delays).toEqual([2, 2, 2, 3, 5, 7, 11, 16, 24, 36, 54, 60]);
  });

  it('fails the run with the execution’s error', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.machine.states.push({
      kind: 'failed',
      error: 'The state machine execution failed: Orders.Failed: no stock',
    });
    await run.worker.handle(message, BUDGET_MS);

    // Act
    await run.worker.handle(run.nextCheck().message, BUDGET_MS);

    // Assess
    const { execution } = await run.stored(message);
    expect(execution).toMatchObject({
      status: 'failed',
      error_message: 'The state machine execution failed: Orders.Failed: no stock',
      target_execution_arn: EXECUTION_ARN,
    });
    expect(run.queue.sent).toEqual([]);
  });

  it('keeps checking when a check could not be made, and fails the run when it never can be', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.machine.states.push(
      {
        kind: 'unknown',
        error: 'Step Functions DescribeExecution failed: ThrottlingException: slow',
        retryable: true,
      },
      {
        kind: 'unknown',
        error: 'Step Functions DescribeExecution failed: AccessDeniedException: no',
        retryable: false,
      },
    );
    await run.worker.handle(message, BUDGET_MS);

    // Act
    await run.worker.handle(run.nextCheck().message, BUDGET_MS);
    const afterThrottling = (await run.stored(message)).execution.status;
    await run.worker.handle(run.nextCheck().message, BUDGET_MS);

    // Assess
    expect(afterThrottling).toBe('running');
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'failed',
      error_message: 'Step Functions DescribeExecution failed: AccessDeniedException: no',
    });
  });

  it('stops the execution and times the run out at its deadline', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start({ config: { timeout: 10 } });
    await run.worker.handle(message, BUDGET_MS);

    // Act: checks at 2, 4, 6, 9 s, then one at the deadline (10 s).
    const delays: (number | undefined)[] = [];
    while (run.queue.sent.length > 0) {
      const next = run.nextCheck();
      delays.push(next.delaySeconds);
      await run.worker.handle(next.message, BUDGET_MS);
    }

    // Assess
    expect(delays).toEqual([2, 2, 2, 3, 1]);
    expect(run.machine.stopped).toEqual([
      { ref: EXECUTION_ARN, reason: 'No result within the 10 s timeout.' },
    ]);
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'timed_out',
      error_message: 'No result within the 10 s timeout; the work was stopped.',
    });
  });

  it('hands a copy of the check message back while the next check is not due, without checking', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    await run.worker.handle(message, BUDGET_MS);
    run.clock.advance(500);

    // Act: a duplicate of the first message, delivered before the first check is due.
    const outcome = await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(outcome).toEqual({ kind: 'later', afterSeconds: 3 });
    expect(run.machine.checked).toEqual([]);
  });

  it('stops the execution when the next check finds the run cancelled', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    await run.worker.handle(message, BUDGET_MS);
    await run.runs.cancel(message.job_id, message.execution_id);

    // Act
    const outcome = await run.worker.handle(run.nextCheck().message, BUDGET_MS);

    // Assess
    expect(outcome).toEqual({ kind: 'done' });
    expect(run.machine.checked).toEqual([]);
    expect(run.machine.stopped).toEqual([{ ref: EXECUTION_ARN, reason: 'The run ended as cancelled.' }]);
    expect(run.queue.sent).toEqual([]);
  });

  it('stops an execution whose run was cancelled while it was being started', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    run.machine.duringStart = async () => {
      await run.runs.cancel(message.job_id, message.execution_id);
    };

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect(run.machine.stopped).toEqual([
      { ref: EXECUTION_ARN, reason: 'The run ended (cancelled) as the work started.' },
    ]);
    expect((await run.stored(message)).execution.status).toBe('cancelled');
    expect(run.queue.sent).toEqual([]);
  });

  it('records the ARN of an express execution that answered synchronously', async () => {
    // Prepare
    const run = await setup();
    const message = await run.start();
    const expressArn = 'arn:aws:states:eu-west-1:123456789012:express:orders:exec_1:abc';
    run.machine.started = { kind: 'succeeded', output: { total: 3 }, ref: expressArn };

    // Act
    await run.worker.handle(message, BUDGET_MS);

    // Assess
    expect((await run.stored(message)).execution).toMatchObject({
      status: 'succeeded',
      output: { total: 3 },
      target_execution_arn: expressArn,
    });
    expect(run.queue.sent).toEqual([]);
  });
});

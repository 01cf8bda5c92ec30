import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createLambdaContext } from '../../infra/local/http-server.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { RunWorker } from '../../shared/app/run-worker.js';
import { makeWorkerHandler } from '../../shared/handlers/worker-handler.js';
import type { Logger, RunMessage, TargetInvoker, TargetOutcome } from '../../shared/ports.js';
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

const START = Date.parse('2026-05-04T08:00:00.000Z');
const MAX_RECEIVES = 5;

/**
 * A target playing what the test sets per job: succeed, throw (the worker dies mid-call), or wait until
 * `meet` other calls are in flight. It logs a line of its own without ids, as an adapter would.
 */
class ScriptedTarget implements TargetInvoker {
  readonly plans = new Map<string, 'succeed' | 'throw'>();
  meet = 0;
  private waiting: (() => void)[] = [];

  constructor(private readonly logger: Logger) {}

  async invoke(_target: unknown, request: { job_id: string }): Promise<TargetOutcome> {
    this.logger.info('target called');
    if (this.meet > 0 && !(await this.together()))
      return { kind: 'failed', error: 'ran alone', retryable: false, timedOut: false };
    if (this.plans.get(request.job_id) === 'throw') throw new Error('worker killed mid-call');
    return { kind: 'succeeded', output: 'done' };
  }

  /** True once `meet` calls are waiting here; false if they do not all arrive (records run one by one). */
  private together(): Promise<boolean> {
    return new Promise((resolve) => {
      const giveUp = setTimeout(() => resolve(false), 5_000);
      this.waiting.push(() => {
        clearTimeout(giveUp);
        resolve(true);
      });
      if (this.waiting.length === this.meet) for (const release of this.waiting.splice(0)) release();
    });
  }
}

function record(message: RunMessage | string, receives: number, id: string): SQSRecord {
  return {
    messageId: `m-${id}`,
    receiptHandle: `rh-${id}`,
    body: typeof message === 'string' ? message : JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: String(receives),
      SentTimestamp: String(START),
      SenderId: '123456789012',
      ApproximateFirstReceiveTimestamp: String(START),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ServerlessJobs-dev-Worker-default',
    awsRegion: 'eu-west-1',
  };
}

async function setup() {
  const clock = new ManualClock(START);
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  const jobStore = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const queue = new RecordingQueue();
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  const deployment = openDeployment();
  const { jobs, runs } = services({
    jobStore,
    entities,
    executions,
    queue,
    deployment,
    clock,
    ids: sequentialIds(clock),
    logger: createLogger({ level: 'silent' }),
  });
  const target = new ScriptedTarget(logger);
  const handler = makeWorkerHandler(
    {
      worker: new RunWorker({
        entities,
        executions,
        queue,
        secrets: new FakeSecretBox(),
        invoker: target,
        deployment,
        clock,
        logger,
      }),
      logger,
    },
    { maxReceiveCount: MAX_RECEIVES },
  );
  /** A new job's run, queued: its message. */
  const startRun = async (name: string): Promise<RunMessage> => {
    const job = await jobs.create({ name, trigger_type: 'manual', prompt_template: 'Do it' });
    await runs.trigger(job.id, {});
    return (queue.sent.splice(0)[0] as { message: RunMessage }).message;
  };
  const invoke = (records: SQSRecord[], awsRequestId = 'req-batch') =>
    handler(
      { Records: records } as SQSEvent,
      createLambdaContext({ functionName: 'worker', awsRequestId, timeoutMs: 60_000 }),
    );
  const status = async (message: RunMessage) =>
    (await executions.get(message.job_id, message.execution_id))?.execution;
  const logEntries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { target, startRun, invoke, status, logEntries };
}

describe('the worker handler, batch by batch', () => {
  it("runs a batch's records at the same time, each line of a record's work naming its job and run", async () => {
    // Prepare
    const worker = await setup();
    const first = await worker.startRun('first');
    const second = await worker.startRun('second');
    worker.target.meet = 2;

    // Act
    const response = await worker.invoke([record(first, 1, 'a'), record(second, 1, 'b')]);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect((await worker.status(first))?.status).toBe('succeeded');
    expect((await worker.status(second))?.status).toBe('succeeded');
    const entries = worker.logEntries();
    for (const entry of entries) expect(entry.request_id).toBe('req-batch');
    const targetLines = entries.filter((entry) => entry.message === 'target called');
    expect(targetLines.map(({ job_id, execution_id }) => ({ job_id, execution_id }))).toEqual(
      expect.arrayContaining([
        { job_id: first.job_id, execution_id: first.execution_id },
        { job_id: second.job_id, execution_id: second.execution_id },
      ]),
    );
    expect(targetLines).toHaveLength(2);
    // No line of one record's work names the other's run.
    const runOf = new Map([
      [first.job_id, first.execution_id],
      [second.job_id, second.execution_id],
    ]);
    for (const entry of entries) expect(entry.execution_id).toBe(runOf.get(entry.job_id as string));
  });

  it('acknowledges a record that is not a run message, logging it with its message id', async () => {
    // Prepare
    const worker = await setup();
    const run = await worker.startRun('good');

    // Act
    const response = await worker.invoke([record('not json', 1, 'bad'), record(run, 1, 'good')]);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect((await worker.status(run))?.status).toBe('succeeded');
    const dropped = worker.logEntries().filter((entry) => entry.message === 'unreadable run message dropped');
    expect(dropped).toEqual([
      expect.objectContaining({
        level: 'error',
        messageId: 'm-bad',
        body: 'not json',
        request_id: 'req-batch',
      }),
    ]);
    expect(dropped[0]).not.toHaveProperty('job_id');
  });

  it('reports only the failed record of a batch, leaving its run to the redelivery', async () => {
    // Prepare
    const worker = await setup();
    const ok = await worker.startRun('ok');
    const failing = await worker.startRun('failing');
    worker.target.plans.set(failing.job_id, 'throw');

    // Act
    const response = await worker.invoke([record(ok, 1, 'ok'), record(failing, 1, 'failing')]);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-failing' }]);
    expect((await worker.status(ok))?.status).toBe('succeeded');
    expect((await worker.status(failing))?.status).toBe('running');
    expect(
      worker.logEntries().find((entry) => entry.message === 'run message failed; it will be redelivered'),
    ).toMatchObject({
      job_id: failing.job_id,
      execution_id: failing.execution_id,
      receives: 1,
      error: { message: 'worker killed mid-call' },
    });
  });

  it('ends the run as failed before reporting a record that failed its last delivery', async () => {
    // Prepare
    const worker = await setup();
    const run = await worker.startRun('doomed');
    worker.target.plans.set(run.job_id, 'throw');

    // Act
    const response = await worker.invoke([record(run, MAX_RECEIVES, 'last')]);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-last' }]);
    expect(await worker.status(run)).toMatchObject({
      status: 'failed',
      error_message: `Processing failed on all ${MAX_RECEIVES} deliveries: worker killed mid-call`,
    });
  });

  it('answers a batch whose every record failed with every record, rather than throwing', async () => {
    // Prepare
    const worker = await setup();
    const first = await worker.startRun('first');
    const second = await worker.startRun('second');
    worker.target.plans.set(first.job_id, 'throw');
    worker.target.plans.set(second.job_id, 'throw');

    // Act
    const response = await worker.invoke([record(first, 1, 'a'), record(second, 2, 'b')]);

    // Assess
    expect(response.batchItemFailures).toHaveLength(2);
    expect(response.batchItemFailures).toEqual(
      expect.arrayContaining([{ itemIdentifier: 'm-a' }, { itemIdentifier: 'm-b' }]),
    );
  });

  it('keeps the request ids of concurrent invocations apart', async () => {
    // Prepare
    const worker = await setup();
    const first = await worker.startRun('first');
    const second = await worker.startRun('second');
    worker.target.meet = 2;

    // Act: two invocations (the local runtime runs batches concurrently) whose records meet mid-run.
    await Promise.all([
      worker.invoke([record(first, 1, 'a')], 'req-one'),
      worker.invoke([record(second, 1, 'b')], 'req-two'),
    ]);

    // Assess
    const requestOf = new Map([
      [first.job_id, 'req-one'],
      [second.job_id, 'req-two'],
    ]);
    const entries = worker.logEntries();
    expect(entries.length).toBeGreaterThan(4);
    for (const entry of entries) expect(entry.request_id).toBe(requestOf.get(entry.job_id as string));
  });
});

import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createLambdaContext } from '../../infra/local/http-server.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { RunWorker } from '../../shared/app/run-worker.js';
import { makeWorkerHandler } from '../../shared/handlers/worker-handler.js';
import type {
  MessageVisibility,
  ReceivedMessage,
  RunMessage,
  TargetInvoker,
  TargetOutcome,
} from '../../shared/ports.js';
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
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:ServerlessJobs-dev-Worker-default';

class RecordingVisibility implements MessageVisibility {
  readonly calls: { message: ReceivedMessage; seconds: number }[] = [];
  async delay(message: ReceivedMessage, seconds: number): Promise<void> {
    this.calls.push({
      message: { eventSourceARN: message.eventSourceARN, receiptHandle: message.receiptHandle },
      seconds,
    });
  }
}

/** A target whose first call never returns (the worker running it dies), later calls succeed. */
class DyingTarget implements TargetInvoker {
  calls = 0;
  async invoke(): Promise<TargetOutcome> {
    this.calls++;
    if (this.calls === 1) throw new Error('worker killed mid-call');
    return { kind: 'succeeded', output: 'done' };
  }
}

function record(message: RunMessage, receiveCount: number, receiptHandle: string): SQSRecord {
  return {
    messageId: `m-${receiptHandle}`,
    receiptHandle,
    body: JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(START),
      SenderId: '123456789012',
      ApproximateFirstReceiveTimestamp: String(START),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
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
  const logger = createLogger({ level: 'silent' });
  const deployment = openDeployment();
  const { jobs, runs } = services({
    jobStore,
    entities,
    executions,
    queue,
    deployment,
    clock,
    ids: sequentialIds(clock),
    logger,
  });
  const visibility = new RecordingVisibility();
  const target = new DyingTarget();
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
      visibility,
    },
    { maxReceiveCount: 5 },
  );
  const job = await jobs.create({
    name: 'job',
    trigger_type: 'manual',
    prompt_template: 'Do it',
    config: { retry: { max_attempts: 2 } },
  });
  await runs.trigger(job.id, {});
  const message = (queue.sent.splice(0)[0] as { message: RunMessage }).message;
  const context: Context = createLambdaContext({
    functionName: 'worker',
    awsRequestId: 'r',
    timeoutMs: 60_000,
  });
  const invoke = (records: SQSRecord[]) => handler({ Records: records } as SQSEvent, context);
  return { clock, executions, message, visibility, target, invoke };
}

describe('the worker handler, for a run held by another worker', () => {
  it('hands the message back until the lease ends instead of deleting it, then takes the run over', async () => {
    // Prepare: the first delivery's worker dies mid-call, holding the run under its lease.
    const run = await setup();
    const first = await run.invoke([record(run.message, 1, 'rh-1')]);
    run.clock.advance(15_000);

    // Act: the message comes back while the lease still holds, then once it has lapsed.
    const early = await run.invoke([record(run.message, 2, 'rh-2')]);
    run.clock.advance((run.visibility.calls[0]?.seconds ?? 0) * 1000);
    const late = await run.invoke([record(run.message, 3, 'rh-3')]);

    // Assess
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-rh-1' }]);
    expect(early.batchItemFailures).toEqual([{ itemIdentifier: 'm-rh-2' }]);
    expect(run.visibility.calls).toHaveLength(1);
    expect(run.visibility.calls[0]?.message).toEqual({ eventSourceARN: QUEUE_ARN, receiptHandle: 'rh-2' });
    expect(run.visibility.calls[0]?.seconds).toBeGreaterThan(40);
    expect(late.batchItemFailures).toEqual([]);
    expect(run.target.calls).toBe(2);
    const stored = await run.executions.get(run.message.job_id, run.message.execution_id);
    expect(stored?.execution).toMatchObject({ status: 'succeeded', attempt: 2 });
  });

  it('acknowledges the message on its last delivery rather than send it to the DLQ while the run is held', async () => {
    // Prepare
    const run = await setup();
    await run.invoke([record(run.message, 1, 'rh-1')]);

    // Act
    const last = await run.invoke([record(run.message, 5, 'rh-5')]);

    // Assess
    expect(last.batchItemFailures).toEqual([]);
    expect(run.visibility.calls).toEqual([]);
    const stored = await run.executions.get(run.message.job_id, run.message.execution_id);
    expect(stored?.execution.status).toBe('running');
  });
});

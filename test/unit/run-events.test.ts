import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../shared/adapters/aws/eventbridge-publisher.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { RunEvents } from '../../shared/app/run-events.js';
import type { Execution, ExecutionStatus } from '../../shared/domain/execution.js';
import { eventId } from '../../shared/domain/notification.js';
import { RUN_EVENT_SETTINGS, type RunEventSetting } from '../../shared/domain/run-events.js';
import type { RunMessage, TargetInvoker, TargetOutcome } from '../../shared/ports.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  makeEntity,
  openDeployment,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { testServices } from '../support/services.js';

const eventsMock = mockClient(EventBridgeClient);

afterEach(() => {
  eventsMock.reset();
});

const START = Date.parse('2027-03-01T02:00:00.000Z');

/** A target answering from a script, one outcome per call; success once the script is used up. */
function scriptedTarget(...outcomes: TargetOutcome[]): TargetInvoker {
  return { invoke: async () => outcomes.shift() ?? { kind: 'succeeded', output: null } };
}

/** Services over in-memory stores whose bus is EventBridge (the client mocked), with `setting`. */
async function setup(setting: RunEventSetting, invoker: TargetInvoker = scriptedTarget()) {
  const clock = new ManualClock(START);
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  const queue = new RecordingQueue();
  const lines: string[] = [];
  const services = testServices({
    jobStore: new MemoryJobStore({ entities }),
    entities,
    executions: new MemoryExecutionStore(),
    queue,
    deployment: openDeployment({ publicBaseUrl: 'https://jobs.example.com/' }),
    clock,
    ids: sequentialIds(clock),
    logger: createLogger({ level: 'debug', sink: (line) => lines.push(line) }),
    invoker,
    events: new EventBridgePublisher(new EventBridgeClient({}), 'jobs-bus'),
    runEventSetting: setting,
  });
  const job = await services.jobs.create({
    name: 'Report',
    trigger_type: 'manual',
    prompt_template: 'Do it',
    config: { retry: { max_attempts: 2, backoff_seconds: 30 } },
  });
  /** The messages sent since the last call. */
  const sent = () => queue.sent.splice(0).map((each) => each.message);
  /** Every entry put on the bus so far, in order. */
  const entries = () =>
    eventsMock.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
  return { clock, services, job, sent, entries, lines };
}

describe('run state changes on the bus', () => {
  it('with all, puts each queued and started attempt, with the service as source and the run as detail', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    const { clock, services, job, sent, entries } = await setup(
      'all',
      scriptedTarget({ kind: 'failed', error: 'HTTP 503', retryable: true, timedOut: false }),
    );

    // Act
    const { execution_id: executionId } = await services.runs.trigger(job.id, {});
    const first = sent()[0] as RunMessage;
    clock.advance(1_500);
    await services.worker.handle(first, 60_000);
    const retry = sent()[0] as RunMessage;
    clock.advance(30_000);
    await services.worker.handle(retry, 60_000);

    // Assess
    const put = entries();
    expect(put.map((entry) => entry.DetailType)).toEqual([
      'Job Run Queued',
      'Job Run Started',
      'Job Run Queued',
      'Job Run Started',
    ]);
    expect(put[0]).toEqual({
      Source: 'serverless-jobs',
      DetailType: 'Job Run Queued',
      Detail: expect.any(String),
      Time: new Date(START),
      EventBusName: 'jobs-bus',
    });
    const details = put.map((entry) => JSON.parse(entry.Detail as string));
    expect(details[0]).toEqual({
      type: 'run.queued',
      id: eventId(`${executionId}:run.queued:1`),
      occurred_at: new Date(START).toISOString(),
      job: { id: job.id, name: 'Report' },
      execution: expect.objectContaining({ execution_id: executionId, status: 'queued', attempt: 1 }),
      consecutive_failures: null,
      message: `Run ${executionId} of "Report" queued (attempt 1).`,
      console_url: `https://jobs.example.com/console#/jobs/${job.id}/runs/${executionId}`,
    });
    expect(details[1]).toMatchObject({
      type: 'run.running',
      id: eventId(`${executionId}:run.running:1`),
      occurred_at: new Date(START + 1_500).toISOString(),
      execution: { status: 'running', attempt: 1, started_at: new Date(START + 1_500).toISOString() },
    });
    // A retry is queued and started again: each attempt its own event, with its own id.
    expect(details.slice(2).map((detail) => [detail.type, detail.execution.attempt, detail.id])).toEqual([
      ['run.queued', 2, eventId(`${executionId}:run.queued:2`)],
      ['run.running', 2, eventId(`${executionId}:run.running:2`)],
    ]);
  });

  it.each(['ended', 'failed'] as const)(
    'with %s, puts no queued or started run on the bus',
    async (setting) => {
      // Prepare
      eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
      const { services, job, sent } = await setup(setting);

      // Act
      await services.runs.trigger(job.id, {});
      await services.worker.handle(sent()[0] as RunMessage, 60_000);

      // Assess
      expect(eventsMock.commandCalls(PutEventsCommand)).toEqual([]);
    },
  );

  it('starts the run even when the bus refuses its event, and logs the refusal', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).rejects(new Error('AccessDeniedException'));
    const { services, job, sent, lines } = await setup('all');

    // Act
    const started = await services.runs.trigger(job.id, {});

    // Assess
    expect(started.status).toBe('queued');
    expect(sent()).toHaveLength(1);
    const logged = lines.map((line) => JSON.parse(line)).filter((line) => line.level === 'error');
    expect(logged).toEqual([
      expect.objectContaining({
        message: 'run state change not put on the event bus',
        execution_id: started.execution_id,
        status: 'queued',
      }),
    ]);
  });
});

describe('RunEvents', () => {
  const statuses: ExecutionStatus[] = [
    'queued',
    'running',
    'skipped',
    'succeeded',
    'failed',
    'timed_out',
    'cancelled',
  ];

  function execution(status: ExecutionStatus): Execution {
    return {
      execution_id: `exec_0000000${statuses.indexOf(status)}a${'0'.repeat(20)}`,
      workflow_id: 'wf_1',
      job_id: 'job_00000000-0000-4000-8000-000000000001',
      job_name: 'Report',
      status,
      trigger_type: 'cron',
      parameters: {},
      prompt: 'p',
      system_prompt: null,
      config: {},
      entity_id: 'echo',
      entity_type: 'agent',
      queue: 'default',
      environment_name: null,
      metadata: {},
      dedupe_key: null,
      scheduled_at: '2027-03-01T02:00:00.000Z',
      lateness_ms: null,
      attempt: 1,
      max_attempts: 3,
      created_at: '2027-03-01T02:00:00.100Z',
      started_at: status === 'queued' || status === 'skipped' ? null : '2027-03-01T02:00:00.300Z',
      finished_at: ['queued', 'running', 'skipped'].includes(status) ? null : '2027-03-01T02:00:01.000Z',
      duration_ms: null,
      deadline_at: null,
      error_message: null,
      output: null,
      output_truncated: false,
    };
  }

  it.each(RUN_EVENT_SETTINGS)('with %s, puts the statuses it names and no other', async (setting) => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const runEvents = new RunEvents({
      events: new EventBridgePublisher(new EventBridgeClient({})),
      setting,
      clock: new ManualClock(START),
      logger: createLogger({ level: 'silent' }),
    });

    // Act
    for (const status of statuses) await runEvents.changed(execution(status));

    // Assess
    const put = eventsMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries?.[0]);
    const expected = {
      all: [
        'Job Run Queued',
        'Job Run Started',
        'Job Run Skipped',
        'Job Run Succeeded',
        'Job Run Failed',
        'Job Run Timed Out',
        'Job Run Cancelled',
      ],
      ended: ['Job Run Succeeded', 'Job Run Failed', 'Job Run Timed Out', 'Job Run Cancelled'],
      failed: ['Job Run Failed', 'Job Run Timed Out'],
    }[setting];
    expect(put.map((entry) => entry?.DetailType)).toEqual(expected);
    const failed = put.find((entry) => entry?.DetailType === 'Job Run Failed');
    expect(JSON.parse(failed?.Detail as string)).toMatchObject({
      type: 'run.failed',
      id: eventId(`${execution('failed').execution_id}:run.failed`),
      occurred_at: '2027-03-01T02:00:01.000Z',
      message: `Run ${execution('failed').execution_id} of "Report" failed.`,
      console_url: null,
    });
  });
});

import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertKeys } from '../../shared/adapters/aws/alert-items.js';
import { DynamoAlertStore } from '../../shared/adapters/aws/dynamo-alert-store.js';
import { DynamoChannelStore } from '../../shared/adapters/aws/dynamo-channel-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { EMPTY_ALERT_STATE } from '../../shared/domain/alert-policy.js';
import type { Job } from '../../shared/domain/job.js';
import type { Notification } from '../../shared/domain/notification.js';
import type { Channel } from '../../shared/domain/notification-channel.js';
import type { OutboxEntry } from '../../shared/ports.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

let table: TestTable;
let alerts: DynamoAlertStore;
let channels: DynamoChannelStore;
let jobs: DynamoJobStore;

beforeAll(async () => {
  table = await createTestTable('alerts');
  alerts = new DynamoAlertStore(table.documents, table.tableName);
  channels = new DynamoChannelStore(table.documents, table.tableName);
  jobs = new DynamoJobStore(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.drop();
});

let counter = 0;
const jobId = () => `job_00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
const channelId = (n: number) => `nch_0m5xy3k0w${String(n).padStart(16, '0')}`;

function job(overrides: Partial<Job> = {}): Job {
  return {
    id: jobId(),
    name: 'Tick',
    description: null,
    trigger_type: 'cron',
    cron_schedule: '*/5 * * * *',
    cron_timezone: 'UTC',
    planning_mode: 'on_the_fly',
    entity_type: null,
    entity_id: null,
    prompt_template: 'p',
    system_prompt: null,
    executor_type: 'auto',
    worker_queue_name: null,
    environment_name: null,
    config: {},
    execution_environment: {},
    enabled: true,
    created_at: '2027-01-01T00:00:00.000Z',
    updated_at: '2027-01-01T00:00:00.000Z',
    webhook_path: null,
    ...overrides,
  };
}

function channel(id: string, overrides: Partial<Channel> = {}): Channel {
  return {
    id,
    name: 'c',
    type: 'webhook',
    url: 'https://hooks.example.com/x',
    topic_arn: null,
    events: null,
    default: false,
    created_at: '2027-01-01T00:00:00.000Z',
    updated_at: '2027-01-01T00:00:00.000Z',
    last_delivery_at: null,
    last_delivery_status: null,
    last_delivery_error: null,
    consecutive_delivery_failures: 0,
    ...overrides,
  };
}

function entry(id: string, dueAt: string, sequence = 0): OutboxEntry {
  const notification: Notification = {
    type: 'run.failed',
    id,
    occurred_at: dueAt,
    job: { id: 'job_x', name: 'x' },
    execution: null,
    consecutive_failures: 1,
    message: 'm',
    console_url: null,
  };
  return { channelId: channelId(1), notification, dueAt, sequence, attempt: 0, lastError: null };
}

describe('job alert state', () => {
  it('records a success at most once a minute while no failure is counted, and hands back the state once one is', async () => {
    // Prepare
    const id = jobId();

    // Act
    const clean = await alerts.recordSuccess(id, '2027-01-01T00:00:00.000Z');
    const older = await alerts.recordSuccess(id, '2026-12-31T23:59:30.000Z');
    const soon = await alerts.recordSuccess(id, '2027-01-01T00:00:59.999Z');
    const withinAMinute = (await alerts.getState(id)).state.lastSuccessAt;
    await alerts.recordSuccess(id, '2027-01-01T00:01:00.000Z');
    const afterSuccess = await alerts.getState(id);
    const written = await alerts.commit(
      id,
      { state: { ...afterSuccess.state, consecutiveFailures: 2, recentFailures: ['a', 'b'] }, version: 0 },
      [],
    );
    const stale = await alerts.commit(id, { state: EMPTY_ALERT_STATE, version: 0 }, []);
    const failing = await alerts.recordSuccess(id, '2027-01-01T00:02:00.000Z');

    // Assess
    expect([clean, older, soon]).toEqual([null, null, null]);
    expect(withinAMinute).toBe('2027-01-01T00:00:00.000Z');
    expect(afterSuccess).toEqual({
      state: { ...EMPTY_ALERT_STATE, lastSuccessAt: '2027-01-01T00:01:00.000Z' },
      version: 0,
    });
    expect([written, stale]).toEqual([true, false]);
    expect(failing).toEqual({
      state: {
        ...EMPTY_ALERT_STATE,
        consecutiveFailures: 2,
        recentFailures: ['a', 'b'],
        lastSuccessAt: '2027-01-01T00:01:00.000Z',
      },
      version: 1,
    });
  });

  it('records the successes of many jobs ending together in a few requests, and keeps the later time', async () => {
    // Prepare: count the requests of a store on a client of its own.
    const documents = DynamoDBDocumentClient.from(table.client);
    const commands: string[] = [];
    documents.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'build', name: 'countCommands' },
    );
    const store = new DynamoAlertStore(documents, table.tableName);
    const ids = Array.from({ length: 40 }, () => jobId());
    const failing = ids[0] as string;
    await store.commit(
      failing,
      { state: { ...EMPTY_ALERT_STATE, lastSuccessAt: '2027-01-01T00:05:00.000Z' }, version: 0 },
      [],
    );
    commands.length = 0;

    // Act
    const results = await Promise.all(ids.map((id) => store.recordSuccess(id, '2027-01-01T00:01:00.000Z')));
    const states = await Promise.all(ids.map((id) => store.getState(id)));

    // Assess: 80 items read and 39 written, in a handful of requests (the first alone, the rest batched).
    expect(results).toEqual(ids.map(() => null));
    expect(commands.length).toBeLessThanOrEqual(10);
    expect(commands).toContain('BatchGetItemCommand');
    expect(commands).toContain('BatchWriteItemCommand');
    expect(states.map((each) => each.state.lastSuccessAt)).toEqual([
      '2027-01-01T00:05:00.000Z',
      ...ids.slice(1).map(() => '2027-01-01T00:01:00.000Z'),
    ]);
  });

  it('writes outbox entries with the state, all or nothing, and sends them in due order, one sender at a time', async () => {
    // Prepare
    const id = jobId();
    const due = '2027-01-01T00:10:00.000Z';
    const committed = await alerts.commit(id, { state: EMPTY_ALERT_STATE, version: 0 }, [
      entry('evt_b', due, 1),
      entry('evt_a', due, 0),
    ]);
    const refused = await alerts.commit(id, { state: EMPTY_ALERT_STATE, version: 0 }, [entry('evt_c', due)]);

    // Act
    const before = await alerts.due(new Date('2027-01-01T00:09:59.999Z'), 10);
    const ready = await alerts.due(new Date(due), 10);
    const [first, second] = ready as [OutboxEntry, OutboxEntry];
    const taken = await alerts.claim(first, new Date(due), new Date('2027-01-01T00:12:00.000Z'));
    const takenTwice = await alerts.claim(first, new Date(due), new Date('2027-01-01T00:12:00.000Z'));
    await alerts.reschedule(first, { dueAt: '2027-01-01T00:10:30.000Z', attempt: 1, lastError: 'HTTP 503' });
    await alerts.remove(second);
    const later = await alerts.due(new Date('2027-01-01T00:11:00.000Z'), 10);

    // Assess
    expect([committed, refused]).toEqual([true, false]);
    expect(before).toEqual([]);
    expect(ready.map((each) => each.notification.id)).toEqual(['evt_a', 'evt_b']);
    expect([taken, takenTwice]).toEqual([true, false]);
    expect(later).toEqual([
      { ...first, dueAt: '2027-01-01T00:10:30.000Z', attempt: 1, lastError: 'HTTP 503' },
    ]);
    await alerts.remove(later[0] as OutboxEntry);
  });
});

describe('watched jobs', () => {
  it('follow job writes: cron jobs, jobs with a policy, neither once disabled, and nothing once deleted', async () => {
    // Prepare
    const cron = job();
    const overdue = job({
      trigger_type: 'manual',
      cron_schedule: null,
      config: { alerts: { max_duration_seconds: 60 } },
    });
    const quiet = job({
      trigger_type: 'manual',
      cron_schedule: null,
      config: { alerts: { failure_threshold: 2 } },
    });
    for (const each of [cron, overdue, quiet]) await jobs.create(each);
    await alerts.commit(overdue.id, { state: EMPTY_ALERT_STATE, version: 0 }, []);
    await alerts.recordSuccess(overdue.id, '2027-01-01T00:00:00.000Z');
    const ids = async (group: 'policy' | 'cron') =>
      (await alerts.watchedJobs(group))
        .map((each) => each.id)
        .filter((id) => [cron.id, overdue.id, quiet.id].includes(id));

    // Act
    const initially = { cron: await ids('cron'), policy: await ids('policy') };
    const withPolicy = { ...cron, config: { alerts: { missed_fire_grace_seconds: 60 } } };
    await jobs.replace(withPolicy, 1, cron);
    const afterPolicy = { cron: await ids('cron'), policy: await ids('policy') };
    await jobs.replace({ ...withPolicy, enabled: false }, 2, withPolicy);
    await jobs.delete(overdue, 1);
    const afterwards = { cron: await ids('cron'), policy: await ids('policy') };
    const state = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: alertKeys.state(overdue.id) }),
    );
    const lastSuccess = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: alertKeys.lastSuccess(overdue.id) }),
    );

    // Assess
    expect(initially).toEqual({ cron: [cron.id], policy: [overdue.id] });
    expect(afterPolicy.cron).toEqual([]);
    expect(afterPolicy.policy.sort()).toEqual([cron.id, overdue.id].sort());
    expect(afterwards).toEqual({ cron: [], policy: [] });
    expect(state.Item).toBeUndefined();
    expect(lastSuccess.Item).toBeUndefined();
  });
});

describe('channels', () => {
  it('keep the default set in step with each write, and count deliveries', async () => {
    // Prepare
    const a = channel(channelId(10), { default: true });
    const b = channel(channelId(11));
    await channels.create(a, 'sealed');
    await channels.create(b, null);

    // Act
    const first = await channels.defaultIds();
    const duplicate = await channels.create(a, null);
    const stored = await channels.get(b.id);
    if (!stored) throw new Error(`channel ${b.id} was not written`);
    await channels.replace({ ...b, default: true }, null, stored.version);
    const stale = await channels.replace({ ...b, name: 'late' }, null, stored.version);
    const both = await channels.defaultIds();
    await channels.recordDelivery(a.id, { at: '2027-01-01T00:00:01.000Z', ok: false, error: 'HTTP 503' });
    await channels.recordDelivery(a.id, { at: '2027-01-01T00:00:02.000Z', ok: false, error: 'HTTP 503' });
    const failing = await channels.get(a.id);
    await channels.recordDelivery(a.id, { at: '2027-01-01T00:00:03.000Z', ok: true, error: null });
    const delivered = await channels.get(a.id);
    await channels.delete(a.id);
    await channels.recordDelivery(a.id, { at: '2027-01-01T00:00:04.000Z', ok: true, error: null });
    const afterDelete = { ids: await channels.defaultIds(), a: await channels.get(a.id) };
    const page = await channels.list({ limit: 10 });

    // Assess
    expect(first).toEqual([a.id]);
    expect(duplicate).toBe(false);
    expect(stale).toBeNull();
    expect(both).toEqual([a.id, b.id]);
    expect(failing?.channel).toMatchObject({
      last_delivery_status: 'failed',
      last_delivery_error: 'HTTP 503',
      consecutive_delivery_failures: 2,
    });
    expect(failing?.sealedSecret).toBe('sealed');
    expect(delivered?.channel).toMatchObject({
      last_delivery_at: '2027-01-01T00:00:03.000Z',
      last_delivery_status: 'delivered',
      last_delivery_error: null,
      consecutive_delivery_failures: 0,
    });
    expect(afterDelete).toEqual({ ids: [b.id], a: null });
    expect(page.channels.map((each) => each.id)).toEqual([b.id]);
  });
});

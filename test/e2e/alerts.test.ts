import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneClient, EntityWithSecret, Job } from '../../sdk/index.js';
import type { Channel, ChannelWithSecret } from '../../shared/domain/notification-channel.js';
import { type AgentServer, startAgentServer } from '../support/agent-server.js';
import { startRuntimeWithClient, type TestRuntime, waitForExecution } from '../support/local-runtime.js';
import { type NotificationReceiver, startNotificationReceiver } from '../support/notification-receiver.js';
import { VirtualClock } from '../support/virtual-clock.js';

/*
 * Alerting end to end, in one local runtime on a virtual clock: real runs against a real agent, the
 * sweeper run by the test (it also sends the outbox), and a real receiver verifying every notification's
 * Standard Webhooks signature with the independent `standardwebhooks` package.
 */

const START = '2027-03-01T00:00:30.000Z';

let runtime: TestRuntime;
let client: ControlPlaneClient;
let clock: VirtualClock;
let receiver: NotificationReceiver;
let agent: AgentServer;
let agentEntity: EntityWithSecret;

beforeAll(async () => {
  clock = new VirtualClock(START);
  // The test runs every sweep itself.
  ({ runtime, client } = await startRuntimeWithClient({ clock, sweepIntervalMs: 3_600_000 }));
  receiver = await startNotificationReceiver();
  agent = await startAgentServer();
  agentEntity = (await client.entities.create({
    type: 'agent',
    name: 'Flaky agent',
    target: { type: 'http', url: agent.url },
  })) as EntityWithSecret;
  agent.signingSecret = agentEntity.signing_secret;
});

afterAll(async () => {
  await agent?.close();
  await receiver?.close();
  await runtime?.cleanup();
});

/** An answer's body: the fields a test reads, anything else unchecked. */
interface Answer {
  error: { details: { path: string }[] };
  channels: Channel[];
  [field: string]: unknown;
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${runtime.apiKey}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** A webhook channel at the receiver's `path`, its secret handed to the receiver. */
async function channelAt(path: string, extra: Record<string, unknown> = {}): Promise<ChannelWithSecret> {
  const created = await api('POST', '/notification-channels', {
    name: `Channel ${path}`,
    type: 'webhook',
    url: receiver.url(path),
    ...extra,
  });
  expect(created.status).toBe(201);
  receiver.secrets.set(path, String(created.json.signing_secret));
  return created.json as unknown as ChannelWithSecret;
}

/** A manual job running the agent. */
function agentJob(name: string, alerts: Record<string, unknown>): Promise<Job> {
  return client.jobs.create({
    name,
    trigger_type: 'manual',
    planning_mode: 'predefined_agent',
    entity_type: 'agent',
    entity_id: agentEntity.id,
    prompt_template: 'Do the thing',
    config: { alerts },
  });
}

async function runToEnd(job: Job): Promise<string> {
  const { execution_id } = await client.jobs.trigger(job.id);
  await waitForExecution(client, job.id, execution_id);
  // The worker tells alerting of the end after writing it, and acknowledges the message only after that: a
  // sweep started as soon as the run shows ended could miss the notifications its end decides.
  await runtime.queues.drained({ timeoutMs: 10_000 });
  return execution_id;
}

/** Types of the verified notifications at `path` about `jobId`, from the `from`th on. */
function typesAt(path: string, jobId: string, from = 0): string[] {
  return receiver
    .at(path)
    .filter((each) => each.body.job?.id === jobId)
    .slice(from)
    .map((each) => each.body.type);
}

async function getJob(id: string): Promise<Record<string, unknown>> {
  return (await api('GET', `/jobs/${id}`)).json;
}

describe('notification channels', () => {
  it('show the signing secret once, name the field of a bad body, and send a signed test event', async () => {
    // Prepare
    const channel = await channelAt('hello', { events: ['job.failing'] });

    // Act
    const fetched = await api('GET', `/notification-channels/${channel.id}`);
    const badEvent = await api('POST', '/notification-channels', {
      name: 'x',
      type: 'webhook',
      url: receiver.url('x'),
      events: ['nope'],
    });
    const noUrl = await api('POST', '/notification-channels', { name: 'x', type: 'webhook' });
    const sns = await api('POST', '/notification-channels', {
      name: 'x',
      type: 'sns',
      topic_arn: 'arn:aws:sns:us-east-1:123456789012:alerts',
    });
    const metadata = await api('POST', '/notification-channels', {
      name: 'x',
      type: 'webhook',
      url: 'http://169.254.169.254/latest',
    });
    const test = await api('POST', `/notification-channels/${channel.id}/test`);
    const after = await api('GET', `/notification-channels/${channel.id}`);
    const patched = await api('PATCH', `/notification-channels/${channel.id}`, {
      events: null,
      default: true,
    });
    const listed = await api('GET', '/notification-channels');
    const deleted = await api('DELETE', `/notification-channels/${channel.id}`);
    const gone = await api('GET', `/notification-channels/${channel.id}`);

    // Assess
    expect(channel.id).toMatch(/^nch_/);
    expect(channel.signing_secret).toMatch(/^whsec_/);
    expect(fetched.json).not.toHaveProperty('signing_secret');
    expect([badEvent.status, badEvent.json.error.details[0]?.path]).toEqual([422, 'events[0]']);
    expect([noUrl.status, noUrl.json.error.details[0]?.path]).toEqual([422, 'url']);
    expect(sns.status).toBe(422);
    expect(sns.json.error.details[0]?.path).toBe('topic_arn');
    expect(metadata.status).toBe(422);
    expect(metadata.json.error.details[0]?.path).toBe('url');
    expect(test.json).toMatchObject({ delivered: true, status: 'delivered', error: null });
    const [received] = receiver.at('hello');
    expect(received?.body).toMatchObject({
      type: 'test',
      id: test.json.event_id,
      job: null,
      execution: null,
    });
    expect(received?.headers['webhook-id']).toBe(test.json.event_id);
    expect(after.json).toMatchObject({ last_delivery_status: 'delivered', consecutive_delivery_failures: 0 });
    expect(patched.json).toMatchObject({ events: null, default: true });
    expect(listed.json.channels.map((each) => each.id)).toContain(channel.id);
    expect(deleted.status).toBe(204);
    expect(gone.status).toBe(404);
  });
});

describe('alerts from run outcomes', () => {
  it('alerts at the threshold, re-alerts after the interval, pauses, and reports the recovery, once each', async () => {
    // Prepare
    const channel = await channelAt('oncall');
    const job = await agentJob('Nightly report', {
      channels: [channel.id],
      failure_threshold: 2,
      pause_after_failures: 4,
      realert_after_seconds: 600,
    });
    agent.script({ kind: 'status', status: 400, body: 'bad request' });

    // Act
    await runToEnd(job);
    await runtime.sweep();
    const first = typesAt('oncall', job.id);
    const second = await runToEnd(job);
    await runtime.sweep();
    const afterSecond = typesAt('oncall', job.id, first.length);
    // The second run's result delivered again: its message comes back to a worker.
    const { queue } = await client.jobs.getExecution(job.id, second);
    await runtime.queues.send(queue, { job_id: job.id, execution_id: second, attempt: 1 });
    await runtime.queues.drained({ timeoutMs: 10_000 });
    await runtime.sweep();
    const afterDuplicate = typesAt('oncall', job.id).length;
    const countedAfterDuplicate = (await getJob(job.id)).consecutive_failures;
    await clock.advance(60_000);
    await runToEnd(job);
    await runtime.sweep();
    const third = typesAt('oncall', job.id, afterDuplicate);
    await clock.advance(600_000);
    await runToEnd(job);
    await runtime.sweep();
    const fourth = typesAt('oncall', job.id, afterDuplicate + third.length);
    const paused = await getJob(job.id);
    const refused = await api('POST', `/jobs/${job.id}/trigger`, {});
    const enabled = await api('POST', `/jobs/${job.id}/enable`);
    agent.script({ kind: 'json', body: { ok: true } });
    const success = await runToEnd(job);
    await runtime.sweep();
    const recovered = typesAt('oncall', job.id, afterDuplicate + third.length + fourth.length);
    const healthy = await getJob(job.id);

    // Assess
    expect(first).toEqual(['run.failed']);
    expect(afterSecond).toEqual(['run.failed', 'job.failing']);
    expect(afterDuplicate).toBe(3);
    expect(countedAfterDuplicate).toBe(2);
    expect(third).toEqual(['run.failed']);
    expect(fourth).toEqual(['run.failed', 'job.failing', 'job.paused']);
    expect(paused).toMatchObject({
      enabled: false,
      disabled_reason: 'consecutive_failures',
      consecutive_failures: 4,
    });
    expect(refused.status).toBe(409);
    expect(enabled.json.enabled).toBe(true);
    expect(enabled.json).not.toHaveProperty('disabled_reason');
    expect(recovered).toEqual(['job.recovered']);
    const run = await client.jobs.getExecution(job.id, success);
    expect(healthy).toMatchObject({ consecutive_failures: 0, last_success_at: run.finished_at });
    const all = receiver.at('oncall').filter((each) => each.body.job?.id === job.id);
    expect(all.every((each) => each.headers['webhook-id'] === each.body.id)).toBe(true);
    expect(new Set(all.map((each) => each.body.id)).size).toBe(all.length);
    const failing = all.find((each) => each.body.type === 'job.failing');
    expect(failing?.body).toMatchObject({
      job: { id: job.id, name: 'Nightly report' },
      execution: { execution_id: second, status: 'failed' },
      consecutive_failures: 2,
      console_url: `${runtime.url}/console#/jobs/${job.id}/runs/${second}`,
    });
  });

  it('retries a channel that answers 503, with the same event id, and shows its delivery counters', async () => {
    // Prepare
    const channel = await channelAt('flaky', { events: ['run.failed'] });
    receiver.script('flaky', 503, 204);
    const job = await agentJob('Flaky target', { channels: [channel.id] });
    agent.script({ kind: 'status', status: 400 });

    // Act
    await runToEnd(job);
    await runtime.sweep();
    const failing = (await api('GET', `/notification-channels/${channel.id}`)).json;
    await runtime.sweep();
    const beforeBackoff = receiver.received.filter((each) => each.path === 'flaky').length;
    await clock.advance(30_000);
    await runtime.sweep();
    const recovered = (await api('GET', `/notification-channels/${channel.id}`)).json;

    // Assess
    const tries = receiver.received.filter((each) => each.path === 'flaky');
    expect(tries.map((each) => each.answered)).toEqual([503, 204]);
    expect(beforeBackoff).toBe(1);
    expect(tries.every((each) => each.verified)).toBe(true);
    expect(tries[1]?.body.id).toBe(tries[0]?.body.id);
    expect(failing).toMatchObject({
      last_delivery_status: 'failed',
      last_delivery_error: 'HTTP 503',
      consecutive_delivery_failures: 1,
    });
    expect(recovered).toMatchObject({ last_delivery_status: 'delivered', consecutive_delivery_failures: 0 });
  });
});

describe('alerts from the sweeper', () => {
  it('reports a missed cron fire once, and not a fire whose run was only late within the grace', async () => {
    // Prepare
    const channel = await channelAt('cron', { events: ['fire.missed'] });
    const removeHook = clock.onSettle(async () => {
      await runtime.scheduler.idle();
      await runtime.queues.drained({ timeoutMs: 20_000 });
    });
    const job = await client.jobs.create({
      name: 'Every ten minutes',
      trigger_type: 'cron',
      cron_schedule: '*/10 * * * *',
      prompt_template: 'tick',
      config: { alerts: { channels: [channel.id], missed_fire_grace_seconds: 120 } },
    });
    const firstFire = Math.ceil(clock.now().getTime() / 600_000) * 600_000;

    try {
      // Act
      // The machine sleeps through the fire for 30 s: the scheduler fires it late, within its tolerance.
      clock.jump(firstFire + 30_000 - clock.now().getTime());
      await clock.advance(0);
      await clock.advanceTo(new Date(firstFire + 200_000));
      await runtime.sweep();
      const afterLate = typesAt('cron', job.id);
      // Then it sleeps 90 s past the next fire: the scheduler drops it, and no run starts.
      const secondFire = firstFire + 600_000;
      clock.jump(secondFire + 90_000 - clock.now().getTime());
      await clock.advance(0);
      await clock.advanceTo(new Date(secondFire + 130_000));
      await runtime.sweep();
      await runtime.sweep();
      const afterMissed = receiver.at('cron').filter((each) => each.body.job?.id === job.id);
      const runs = await client.jobs.getExecutions(job.id, { limit: 10 });

      // Assess
      expect(runs.executions.map((run) => run.scheduled_at)).toEqual([new Date(firstFire).toISOString()]);
      expect(runs.executions[0]?.lateness_ms).toBe(30_000);
      expect(afterLate).toEqual([]);
      expect(afterMissed.map((each) => each.body.type)).toEqual(['fire.missed']);
      expect(afterMissed[0]?.body.message).toContain(new Date(secondFire).toISOString());
    } finally {
      removeHook();
      await client.jobs.disable(job.id);
    }
  });

  it('warns once of a run running past max_duration_seconds', async () => {
    // Prepare
    const channel = await channelAt('slow', { events: ['run.overdue'] });
    const job = await agentJob('Slow job', { channels: [channel.id], max_duration_seconds: 60 });
    agent.script({ kind: 'hold' });
    const { execution_id } = await client.jobs.trigger(job.id);
    await waitForExecution(client, job.id, execution_id, { statuses: ['running'] });

    // Act
    await runtime.sweep();
    const early = typesAt('slow', job.id);
    await clock.advance(61_000);
    await runtime.sweep();
    await runtime.sweep();
    const late = receiver.at('slow').filter((each) => each.body.job?.id === job.id);
    agent.release();
    const finished = await waitForExecution(client, job.id, execution_id);

    // Assess
    expect(early).toEqual([]);
    expect(late.map((each) => each.body.type)).toEqual(['run.overdue']);
    expect(late[0]?.body.execution).toMatchObject({ execution_id, status: 'running' });
    expect(finished.status).toBe('succeeded');
  });
});

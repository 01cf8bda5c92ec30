import { describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds, systemClock } from '../../shared/adapters/system.js';
import type { AwsTargetLists } from '../../shared/domain/aws-targets.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import { type ApiResult, callApi } from '../support/api-events.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
} from '../support/memory-stores.js';
import { testApiHandler } from '../support/services.js';

const API_KEY = 'test-key';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:orders';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo';
const BUS = 'arn:aws:events:eu-west-1:123456789012:event-bus/orders';

const LISTED: AwsTargetLists = {
  stateMachineTargets: [MACHINE],
  sqsTargets: [QUEUE],
  eventBusTargets: ['default', BUS],
};

/** The API over in-memory stores; a closed deployment listing `lists`, or an open one (the local default). */
function setup(options: { open: boolean; lists?: AwsTargetLists }) {
  const entities = new MemoryEntityStore();
  const deployment = openDeployment({
    open: options.open,
    ...(options.lists !== undefined && { awsTargets: options.lists }),
  });
  const handler = testApiHandler({
    jobStore: new MemoryJobStore({ entities }),
    webhooks: new MemoryWebhookStore(),
    entities,
    executions: new MemoryExecutionStore(),
    queue: new RecordingQueue(),
    secrets: new FakeSecretBox(),
    deployment,
    apiKeys: HashedApiKeys.fromKeys([API_KEY]),
    scheduler: new MemoryScheduler(),
    clock: systemClock,
    ids: randomIds,
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
  });
  const send = (method: string, path: string, body: object) =>
    callApi(handler, {
      method,
      path,
      headers: { authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(body),
    });
  return {
    entities,
    create: (target: object, id = 'workflow') =>
      send('POST', '/entities', { id, type: 'workflow', name: 'Workflow', target }),
    patch: (id: string, body: object) => send('PATCH', `/entities/${id}`, body),
  };
}

function errorOf(result: ApiResult): { code: string; details: ErrorDetail[] } {
  return (result.json as { error: { code: string; details: ErrorDetail[] } }).error;
}

const notListed = (setting: string) =>
  `is not in this deployment's ${setting}: add it to ${setting} (infra/aws/config.ts, or jobs.config.json ` +
  'locally) and deploy, so that the workers may reach it';

describe('entities with AWS targets', () => {
  it.each([
    ['stepfunctions', { type: 'stepfunctions', state_machine_arn: MACHINE, workflow_type: 'express' }],
    ['sqs', { type: 'sqs', queue_url: QUEUE, message_group_id: 'tenant-7' }],
    ['eventbridge (by name)', { type: 'eventbridge', event_bus_name: 'default' }],
    [
      'eventbridge (by ARN)',
      { type: 'eventbridge', event_bus_name: BUS, source: 'com.example.jobs', detail_type: 'Order run' },
    ],
    ['lambda (event)', { type: 'lambda', function_name: 'agent-fn', invocation: 'event' }],
  ])('accepts and stores a %s target the deployment lists', async (_label, target) => {
    // Prepare
    const api = setup({ open: false, lists: LISTED });

    // Act
    const created = await api.create(target);

    // Assess
    expect(created.status).toBe(201);
    expect((created.json as { target: unknown }).target).toEqual(target);
    expect((await api.entities.get('workflow'))?.entity.target).toEqual(target);
    // No signing secret: nothing is signed for these kinds.
    expect(created.json).not.toHaveProperty('signing_secret');
  });

  it.each([
    [
      {
        type: 'stepfunctions',
        state_machine_arn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:other',
      },
      'target.state_machine_arn',
      'stateMachineTargets',
    ],
    // Listed without its alias: the ARN a worker may start is the one listed, exactly.
    [
      { type: 'stepfunctions', state_machine_arn: `${MACHINE}:live` },
      'target.state_machine_arn',
      'stateMachineTargets',
    ],
    [
      { type: 'sqs', queue_url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/other' },
      'target.queue_url',
      'sqsTargets',
    ],
    [{ type: 'eventbridge', event_bus_name: 'orders' }, 'target.event_bus_name', 'eventBusTargets'],
  ])('refuses %j with a 422 naming the setting to extend', async (target, path, setting) => {
    // Prepare
    const api = setup({ open: false, lists: LISTED });

    // Act
    const result = await api.create(target);

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details).toEqual([
      { path, message: notListed(setting), code: 'target_not_allowed' },
    ]);
    expect(await api.entities.get('workflow')).toBeNull();
  });

  it('refuses every AWS target where the deployment lists none (no lists at all)', async () => {
    // Prepare
    const api = setup({ open: false });

    // Act
    const result = await api.create({ type: 'stepfunctions', state_machine_arn: MACHINE });

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details[0]?.message).toBe(notListed('stateMachineTargets'));
  });

  it('refuses a PATCH switching to an unlisted target, and leaves the entity as it was', async () => {
    // Prepare
    const api = setup({ open: false, lists: LISTED });
    await api.create({ type: 'echo' });

    // Act
    const result = await api.patch('workflow', {
      target: { type: 'sqs', queue_url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/other' },
    });

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details).toEqual([
      { path: 'target.queue_url', message: notListed('sqsTargets'), code: 'target_not_allowed' },
    ]);
    expect((await api.entities.get('workflow'))?.entity.target).toEqual({ type: 'echo' });
  });

  it('accepts any state machine, queue or bus in an open deployment (the local runtime without a config file)', async () => {
    // Prepare
    const api = setup({ open: true });

    // Act
    const results = await Promise.all([
      api.create({ type: 'stepfunctions', state_machine_arn: MACHINE }, 'a'),
      api.create({ type: 'sqs', queue_url: QUEUE }, 'b'),
      api.create({ type: 'eventbridge', event_bus_name: 'anything' }, 'c'),
    ]);

    // Assess
    expect(results.map((result) => result.status)).toEqual([201, 201, 201]);
  });

  it.each([
    [
      { type: 'stepfunctions', state_machine_arn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:*' },
      'target.state_machine_arn',
    ],
    [{ type: 'stepfunctions', state_machine_arn: MACHINE, workflow_type: 'fast' }, 'target.workflow_type'],
    [{ type: 'stepfunctions' }, 'target.state_machine_arn'],
    [{ type: 'sqs', queue_url: 'https://example.com/123456789012/orders' }, 'target.queue_url'],
    [{ type: 'sqs', queue_url: QUEUE, message_group_id: 'has space' }, 'target.message_group_id'],
    [{ type: 'eventbridge', event_bus_name: 'bus*' }, 'target.event_bus_name'],
    [{ type: 'eventbridge', event_bus_name: 'default', source: 'aws.jobs' }, 'target.source'],
    [{ type: 'eventbridge', event_bus_name: 'default', detail_type: 'x'.repeat(129) }, 'target.detail_type'],
    [{ type: 'lambda', function_name: 'agent-fn', invocation: 'Event' }, 'target.invocation'],
    [{ type: 'sqs', queue_url: QUEUE, extra: true }, 'target.extra'],
  ])('refuses %j with a 422 naming %s', async (target, path) => {
    // Prepare
    const api = setup({ open: true });

    // Act
    const result = await api.create(target);

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details.map((detail) => detail.path)).toContain(path);
  });
});

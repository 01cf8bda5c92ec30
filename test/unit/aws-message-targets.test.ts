import {
  EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  KmsAccessDenied,
  QueueDoesNotExist,
  RequestThrottled,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { regionalClients } from '../../shared/adapters/aws/aws-target-calls.js';
import {
  DEFAULT_DETAIL_TYPE,
  DEFAULT_EVENT_SOURCE,
  EventBridgeTargetInvoker,
} from '../../shared/adapters/aws/eventbridge-target.js';
import { LambdaTargetInvoker } from '../../shared/adapters/aws/lambda-target.js';
import { SqsTargetInvoker } from '../../shared/adapters/aws/sqs-target.js';
import { createTargetInvoker, needsAwsOutcome } from '../../shared/adapters/target-invoker.js';
import type { EntityTarget } from '../../shared/domain/entity.js';
import type { ExecutionRequest } from '../../shared/domain/execution.js';

const sqsMock = mockClient(SQSClient);
const eventsMock = mockClient(EventBridgeClient);
const lambdaMock = mockClient(LambdaClient);

afterEach(() => {
  sqsMock.reset();
  eventsMock.reset();
  lambdaMock.reset();
});

const QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/orders';
const FIFO_QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/orders.fifo';

function executionRequest(): ExecutionRequest {
  return {
    execution_id: 'exec_1',
    workflow_id: 'wf_1',
    job_id: 'job_1',
    job_name: 'Nightly',
    entity: { id: 'orders', type: 'workflow', name: 'Orders' },
    trigger_type: 'cron',
    prompt: 'Résumé 🚀',
    system_prompt: null,
    parameters: { a: 1 },
    config: {},
    metadata: {},
    environment: null,
    attempt: 1,
    deadline_at: '2030-01-01T00:00:00.000Z',
    callback: { url: 'https://jobs.example.com/executions/exec_1/callback', token: 'job_1.secret-token' },
  };
}

/** What the AWS kinds send: the request without its callback (whose token is a secret). */
function withoutCallback(request: ExecutionRequest): string {
  const { callback: _callback, ...rest } = request;
  return JSON.stringify(rest);
}

/** Clients per region, recorded. */
function clientsOf<C>(create: (region: string) => C) {
  const regions: (string | null)[] = [];
  const clients = regionalClients((region) => {
    regions.push(region);
    return create(region ?? 'eu-west-1');
  });
  return { clients, regions };
}

describe('SqsTargetInvoker', () => {
  const sqs = () => {
    const { clients, regions } = clientsOf((region) => new SQSClient({ region, maxAttempts: 1 }));
    return { invoker: new SqsTargetInvoker(clients), regions };
  };

  it('sends the request without its callback to a standard queue, in its region, and succeeds with the message id', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const { invoker, regions } = sqs();
    const request = executionRequest();

    // Act
    const outcome = await invoker.invoke({ type: 'sqs', queue_url: QUEUE }, request, { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: { message_id: 'm-1', sequence_number: null } });
    expect(sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: QUEUE, MessageBody: withoutCallback(request) },
    ]);
    expect(regions).toEqual(['eu-central-1']);
  });

  it('gives a FIFO queue the job id as group and the execution id as deduplication id', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-2', SequenceNumber: '1000' });
    const { invoker } = sqs();
    const request = executionRequest();

    // Act
    const outcome = await invoker.invoke({ type: 'sqs', queue_url: FIFO_QUEUE }, request, {
      timeoutMs: 5_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: { message_id: 'm-2', sequence_number: '1000' } });
    expect(sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: FIFO_QUEUE,
        MessageBody: withoutCallback(request),
        MessageGroupId: 'job_1',
        MessageDeduplicationId: 'exec_1',
      },
    ]);
  });

  it('uses the target’s message group on FIFO and standard queues alike', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-3' });
    const { invoker } = sqs();

    // Act
    await invoker.invoke(
      { type: 'sqs', queue_url: FIFO_QUEUE, message_group_id: 'tenant-7' },
      executionRequest(),
      {
        timeoutMs: 5_000,
      },
    );
    await invoker.invoke(
      { type: 'sqs', queue_url: QUEUE, message_group_id: 'tenant-7' },
      executionRequest(),
      {
        timeoutMs: 5_000,
      },
    );

    // Assess
    const inputs = sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(
      inputs.map(({ MessageGroupId, MessageDeduplicationId }) => ({
        MessageGroupId,
        MessageDeduplicationId,
      })),
    ).toEqual([
      { MessageGroupId: 'tenant-7', MessageDeduplicationId: 'exec_1' },
      { MessageGroupId: 'tenant-7', MessageDeduplicationId: undefined },
    ]);
  });

  it.each([
    ['throttling', true, new RequestThrottled({ message: 'slow down', $metadata: {} })],
    ['a missing queue', false, new QueueDoesNotExist({ message: 'no queue', $metadata: {} })],
    ['a key it may not use', false, new KmsAccessDenied({ message: 'kms denied', $metadata: {} })],
    ['a dropped connection', true, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('maps %s to a failure with retryable %s', async (_label, retryable, error) => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(error);
    const { invoker } = sqs();

    // Act
    const outcome = await invoker.invoke({ type: 'sqs', queue_url: QUEUE }, executionRequest(), {
      timeoutMs: 5_000,
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: `SQS SendMessage call failed: ${error.name}: ${error.message}`,
      retryable,
      timedOut: false,
    });
  });
});

describe('EventBridgeTargetInvoker', () => {
  const events = () => {
    const { clients, regions } = clientsOf((region) => new EventBridgeClient({ region, maxAttempts: 1 }));
    return { invoker: new EventBridgeTargetInvoker(clients), regions };
  };

  it('puts one event with the request without its callback as detail, the default source and detail type', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] });
    const { invoker, regions } = events();
    const request = executionRequest();

    // Act
    const outcome = await invoker.invoke({ type: 'eventbridge', event_bus_name: 'orders' }, request, {
      timeoutMs: 5_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: { event_id: 'ev-1' } });
    expect(eventsMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Entries: [
          {
            EventBusName: 'orders',
            Source: DEFAULT_EVENT_SOURCE,
            DetailType: DEFAULT_DETAIL_TYPE,
            Detail: withoutCallback(request),
          },
        ],
      },
    ]);
    // A bus named by name is this region's.
    expect(regions).toEqual([null]);
  });

  it('uses the target’s source and detail type, and puts to a bus named by ARN in its region', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'ev-2' }] });
    const { invoker, regions } = events();
    const bus = 'arn:aws:events:us-east-2:123456789012:event-bus/orders';

    // Act
    await invoker.invoke(
      { type: 'eventbridge', event_bus_name: bus, source: 'com.example.jobs', detail_type: 'Order run' },
      executionRequest(),
      { timeoutMs: 5_000 },
    );

    // Assess
    const entry = eventsMock.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({ EventBusName: bus, Source: 'com.example.jobs', DetailType: 'Order run' });
    expect(regions).toEqual(['us-east-2']);
  });

  it.each([
    ['AccessDeniedException', 'not authorized', false],
    ['ThrottlingException', 'Rate exceeded', true],
    ['InternalFailure', 'try again', true],
  ])('fails the attempt with a failed entry’s code %s (retryable %s)', async (code, message, retryable) => {
    // Prepare
    eventsMock
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: code, ErrorMessage: message }] });
    const { invoker } = events();

    // Act
    const outcome = await invoker.invoke(
      { type: 'eventbridge', event_bus_name: 'orders' },
      executionRequest(),
      {
        timeoutMs: 5_000,
      },
    );

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: `EventBridge refused the event: ${code}: ${message}`,
      retryable,
      timedOut: false,
    });
  });

  it.each([
    ['a missing bus', false, new ResourceNotFoundException({ message: 'no bus', $metadata: {} })],
    [
      'a service fault',
      true,
      new EventBridgeServiceException({
        name: 'InternalException',
        $fault: 'server',
        message: 'internal',
        $metadata: { httpStatusCode: 500 },
      }),
    ],
  ])('maps %s to a failure with retryable %s', async (_label, retryable, error) => {
    // Prepare
    eventsMock.on(PutEventsCommand).rejects(error);
    const { invoker } = events();

    // Act
    const outcome = await invoker.invoke(
      { type: 'eventbridge', event_bus_name: 'orders' },
      executionRequest(),
      {
        timeoutMs: 5_000,
      },
    );

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: `EventBridge PutEvents call failed: ${error.name}: ${error.message}`,
      retryable,
      timedOut: false,
    });
  });
});

describe('LambdaTargetInvoker with invocation "event"', () => {
  it('invokes asynchronously with the request without its callback, and succeeds once Lambda accepts it', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    const invoker = new LambdaTargetInvoker(new LambdaClient({ region: 'eu-west-1' }));
    const request = executionRequest();

    // Act
    const outcome = await invoker.invoke(
      { type: 'lambda', function_name: 'agent-fn', invocation: 'event' },
      request,
      { timeoutMs: 5_000 },
    );

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: null });
    const input = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe('agent-fn');
    expect(input?.InvocationType).toBe('Event');
    expect(new TextDecoder().decode(input?.Payload as Uint8Array)).toBe(withoutCallback(request));
  });
});

describe('createTargetInvoker without AWS', () => {
  const awsTargets: EntityTarget[] = [
    { type: 'lambda', function_name: 'agent-fn', invocation: 'event' },
    { type: 'stepfunctions', state_machine_arn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:orders' },
    { type: 'sqs', queue_url: QUEUE },
    { type: 'eventbridge', event_bus_name: 'orders' },
  ];

  it.each(awsTargets.map((target) => [target.type, target] as const))(
    'fails a %s target without retry, saying it needs AWS credentials and a region',
    async (type, target) => {
      // Act
      const outcome = await createTargetInvoker().invoke(target, executionRequest(), {
        signingSecret: null,
        timeoutMs: 1_000,
      });

      // Assess
      expect(outcome).toEqual(needsAwsOutcome(type as 'lambda' | 'stepfunctions' | 'sqs' | 'eventbridge'));
      expect(outcome).toMatchObject({
        error: expect.stringMatching(new RegExp(`^The ${type} target needs AWS: .*AWS_REGION.*AWS_PROFILE`)),
        retryable: false,
      });
    },
  );

  it('cannot check on or stop an execution', async () => {
    // Prepare
    const invoker = createTargetInvoker();
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:orders:exec_1';

    // Act
    const state = await invoker.check?.(arn, { timeoutMs: 1_000 });
    const stopped = invoker.stop?.(arn, 'timed out');

    // Assess
    expect(state).toMatchObject({
      kind: 'unknown',
      retryable: false,
      error: expect.stringContaining('needs AWS'),
    });
    await expect(stopped).rejects.toThrow(/needs AWS/);
  });
});

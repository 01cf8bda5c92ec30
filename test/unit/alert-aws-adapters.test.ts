import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  AuthorizationErrorException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher, EventsNotPutError } from '../../shared/adapters/aws/eventbridge-publisher.js';
import { SnsTopicPublisher } from '../../shared/adapters/aws/sns-topic-publisher.js';
import { createChannelNotifier } from '../../shared/adapters/channel-notifier.js';
import type { Channel } from '../../shared/domain/notification-channel.js';

const eventsMock = mockClient(EventBridgeClient);
const snsMock = mockClient(SNSClient);

afterEach(() => {
  eventsMock.reset();
  snsMock.reset();
});

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:jobs-alerts';
const TIME = new Date('2027-03-01T02:00:00.000Z');

function snsChannel(topicArn: string): Channel {
  return {
    id: 'nch_0m5xy3k0w0123456789abcdef',
    name: 'Ops',
    type: 'sns',
    url: null,
    topic_arn: topicArn,
    events: null,
    default: false,
    created_at: '2027-01-01T00:00:00.000Z',
    updated_at: '2027-01-01T00:00:00.000Z',
    last_delivery_at: null,
    last_delivery_status: null,
    last_delivery_error: null,
    consecutive_delivery_failures: 0,
  };
}

describe('EventBridgePublisher', () => {
  it('puts each event with the service as source, its detail-type and the body as detail, ten a call', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const events = Array.from({ length: 11 }, (_unused, index) => ({
      detailType: index === 0 ? 'Job Paused' : 'Job Run Succeeded',
      detail: { type: index === 0 ? 'job.paused' : 'run.succeeded', id: `evt_${index}` },
      time: TIME,
    }));

    // Act
    await new EventBridgePublisher(new EventBridgeClient({}), 'jobs-bus').publish(events);

    // Assess
    const calls = eventsMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Entries?.length)).toEqual([10, 1]);
    expect(calls[0]?.Entries?.[0]).toEqual({
      Source: 'serverless-jobs',
      DetailType: 'Job Paused',
      Detail: JSON.stringify({ type: 'job.paused', id: 'evt_0' }),
      Time: TIME,
      EventBusName: 'jobs-bus',
    });
  });

  it('uses the default bus when none is named, and reports entries EventBridge refused', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }],
    });

    // Act
    const failure = await new EventBridgePublisher(new EventBridgeClient({}))
      .publish([{ detailType: 'Job Fire Missed', detail: {}, time: TIME }])
      .catch((error: unknown) => error);

    // Assess
    expect(eventsMock.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]).not.toHaveProperty(
      'EventBusName',
    );
    expect(failure).toBeInstanceOf(EventsNotPutError);
    expect((failure as EventsNotPutError).failures).toEqual([
      { detailType: 'Job Fire Missed', code: 'ThrottlingException', message: 'slow down' },
    ]);
  });
});

describe('sns channels', () => {
  const message = { id: 'evt_1', subject: '[job.failing] Report', body: '{"type":"job.failing"}' };

  it('publish the notification body to the topic, with its type as a message attribute', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = createChannelNotifier({ topics: new SnsTopicPublisher(new SNSClient({})) });

    // Act
    const outcome = await notifier.send(snsChannel(TOPIC), message, null);
    const fifo = await notifier.send(snsChannel(`${TOPIC}.fifo`), message, null);

    // Assess
    expect([outcome, fifo]).toEqual([{ ok: true }, { ok: true }]);
    const inputs = snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toEqual({
      TopicArn: TOPIC,
      Message: '{"type":"job.failing"}',
      Subject: '[job.failing] Report',
      MessageAttributes: { event_type: { DataType: 'String', StringValue: 'job.failing' } },
    });
    expect(inputs[1]).toMatchObject({ MessageGroupId: 'serverless-jobs', MessageDeduplicationId: 'evt_1' });
  });

  it('retry throttling, not a refused permission; without SNS (locally) they fail at once', async () => {
    // Prepare
    snsMock
      .on(PublishCommand)
      .rejectsOnce(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }))
      .rejectsOnce(new AuthorizationErrorException({ message: 'not allowed', $metadata: {} }));
    const notifier = createChannelNotifier({ topics: new SnsTopicPublisher(new SNSClient({})) });

    // Act
    const throttled = await notifier.send(snsChannel(TOPIC), message, null);
    const refused = await notifier.send(snsChannel(TOPIC), message, null);
    const local = await createChannelNotifier().send(snsChannel(TOPIC), message, null);

    // Assess
    expect(throttled).toMatchObject({ ok: false, retryable: true });
    expect(refused).toMatchObject({
      ok: false,
      retryable: false,
      error: expect.stringContaining('AuthorizationError'),
    });
    expect(local).toMatchObject({ ok: false, retryable: false });
  });
});

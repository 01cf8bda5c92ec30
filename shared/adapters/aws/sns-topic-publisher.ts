import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { DeliveryOutcome } from '../../ports.js';
import type { TopicPublisher } from '../channel-notifier.js';

/** SNS errors that say the topic or the permission is wrong: retrying does not help. */
const FINAL_ERRORS = new Set([
  'AuthorizationErrorException',
  'NotFoundException',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSNotFoundException',
]);

/**
 * `sns` channels: each notification is one Publish of its JSON body to the channel's topic, with the
 * event type as the `event_type` message attribute (for subscription filter policies) and a subject for
 * email subscriptions. A FIFO topic gets one message group and the event id as deduplication id.
 */
export class SnsTopicPublisher implements TopicPublisher {
  constructor(private readonly client: SNSClient) {}

  async publish(
    topicArn: string,
    message: { id: string; subject: string; body: string; type: string },
  ): Promise<DeliveryOutcome> {
    const fifo = topicArn.endsWith('.fifo');
    try {
      await this.client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: message.body,
          Subject: message.subject,
          MessageAttributes: { event_type: { DataType: 'String', StringValue: message.type } },
          ...(fifo && { MessageGroupId: 'serverless-jobs', MessageDeduplicationId: message.id }),
        }),
      );
      return { ok: true };
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const text = error instanceof Error ? error.message : String(error);
      return { ok: false, retryable: !FINAL_ERRORS.has(name), error: `SNS ${name}: ${text}`.slice(0, 500) };
    }
  }
}

import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MessageVisibility, ReceivedMessage, RunMessage, RunQueue } from '../../ports.js';
import { clampDelaySeconds, UnknownQueueError } from '../run-queue.js';

/** SQS's longest visibility timeout. */
const MAX_VISIBILITY_SECONDS = 43_200;

/** `RunQueue` over SQS: one queue per worker queue name, URLs fixed at deploy time. */
export class SqsRunQueue implements RunQueue, MessageVisibility {
  private readonly queueUrls: ReadonlyMap<string, string>;

  constructor(
    private readonly client: SQSClient,
    /** Worker queue name → SQS queue URL. */
    queueUrls: Record<string, string>,
  ) {
    // A Map, so a name like "constructor" cannot resolve to something inherited.
    this.queueUrls = new Map(Object.entries(queueUrls));
  }

  /** Sends `message` to the named queue; the delay is rounded up to whole seconds and kept within 0–900. */
  async send(queue: string, message: RunMessage, delaySeconds = 0): Promise<void> {
    const queueUrl = this.queueUrls.get(queue);
    if (queueUrl === undefined) throw new UnknownQueueError(queue, [...this.queueUrls.keys()]);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: clampDelay(delaySeconds),
      }),
    );
  }

  /** `ChangeMessageVisibility` of a message the worker received, on the queue its event names. */
  async delay(message: ReceivedMessage, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrlOfArn(message.eventSourceARN),
        ReceiptHandle: message.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds))),
      }),
    );
  }
}

/** `arn:aws:sqs:<region>:<account>:<name>` → `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
export function queueUrlOfArn(arn: string): string {
  const match = /^arn:(aws[\w-]*):sqs:([a-z0-9-]+):(\d{12}):([\w.-]+)$/.exec(arn);
  if (!match) throw new Error(`Not an SQS queue ARN: ${arn.slice(0, 200)}`);
  const [, partition, region, account, name] = match;
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/** SQS takes whole seconds. */
function clampDelay(delaySeconds: number): number {
  return Math.ceil(clampDelaySeconds(delaySeconds));
}

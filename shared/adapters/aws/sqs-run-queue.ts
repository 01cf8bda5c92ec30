import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RunMessage, RunQueue } from '../../ports.js';

/** SQS's longest per-message delay. */
export const MAX_DELAY_SECONDS = 900;

/** A worker queue name the deployment does not declare. */
export class UnknownQueueError extends Error {
  readonly queue: string;
  constructor(queue: string, known: readonly string[]) {
    super(
      `No worker queue named ${JSON.stringify(queue)} is deployed; known queues: ${known.join(', ') || 'none'}.`,
    );
    this.name = 'UnknownQueueError';
    this.queue = queue;
  }
}

/** `RunQueue` over SQS: one queue per worker queue name, URLs fixed at deploy time. */
export class SqsRunQueue implements RunQueue {
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
}

function clampDelay(delaySeconds: number): number {
  if (Number.isNaN(delaySeconds)) return 0;
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
}

import { KmsThrottled, RequestThrottled, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseQueueUrl } from '../../domain/aws-targets.js';
import type { SqsTarget } from '../../domain/entity.js';
import type { ExecutionRequest } from '../../domain/execution.js';
import type { TargetOutcome } from '../../ports.js';
import {
  callWithin,
  failedCall,
  type RegionalClients,
  type RetryableError,
  withoutCallback,
} from './aws-target-calls.js';

const SERVICE = 'SQS';

/** Send errors another attempt may get past (SQS names its throttling errors itself). */
const retryableSendError: RetryableError = (error) =>
  error instanceof RequestThrottled || error instanceof KmsThrottled;

/**
 * Runs `sqs` targets: `SendMessage` of the execution request (without `callback`) as the message body; the
 * run succeeds once SQS accepts the message, with `{ message_id, sequence_number }` as its output. A FIFO
 * queue gets the target's `message_group_id` (the job id when it names none) and the execution id as the
 * deduplication id, so a repeated send of one run within SQS's five-minute window is delivered once; a
 * standard queue gets the group id only when the target names one (fair queues).
 */
export class SqsTargetInvoker {
  constructor(private readonly clients: RegionalClients<SQSClient>) {}

  async invoke(
    target: SqsTarget,
    request: ExecutionRequest,
    options: { timeoutMs: number },
  ): Promise<TargetOutcome> {
    const queue = parseQueueUrl(target.queue_url);
    const fifo = queue?.fifo === true;
    const groupId = target.message_group_id ?? (fifo ? request.job_id : undefined);
    const command = new SendMessageCommand({
      QueueUrl: target.queue_url,
      MessageBody: JSON.stringify(withoutCallback(request)),
      ...(groupId !== undefined && { MessageGroupId: groupId }),
      ...(fifo && { MessageDeduplicationId: request.execution_id }),
    });
    try {
      const sent = await callWithin(SERVICE, options.timeoutMs, (abortSignal) =>
        this.clients(queue?.region ?? null).send(command, { abortSignal }),
      );
      return {
        kind: 'succeeded',
        output: { message_id: sent.MessageId ?? null, sequence_number: sent.SequenceNumber ?? null },
      };
    } catch (error) {
      return failedCall(`${SERVICE} SendMessage`, error, retryableSendError);
    }
  }
}

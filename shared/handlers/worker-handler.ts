import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import type { MessageOutcome, RunWorker } from '../app/run-worker.js';
import { runDefaults } from '../config/defaults.js';
import type { Logger, MessageVisibility } from '../ports.js';
import { scopedToInvocation } from './invocation-scope.js';

const RunMessageSchema = z.object({
  job_id: z.string().check(z.minLength(1)),
  execution_id: z.string().check(z.minLength(1)),
  attempt: z.number().check(z.int(), z.minimum(1)),
});

/** A message to receive again later: its run is held by a live worker (reported as a batch item failure). */
class HeldRunError extends Error {
  constructor(readonly afterSeconds: number) {
    super(`Run held by a live worker; message returns in ${afterSeconds} s.`);
    this.name = 'HeldRunError';
  }
}

/** Time kept back when the function's own budget is unknown (no Lambda context deadline). */
const DEFAULT_BUDGET_MS = 60_000;

/**
 * The worker Lambda: each SQS record is one attempt of one execution. Records run concurrently and
 * report failures individually (Powertools' `BatchProcessor`, a partial batch response), so one bad
 * record never redelivers the rest; every line a record's work logs carries its `job_id` and `execution_id`.
 * A record that is not a run message can never succeed; it is logged with its body and acknowledged.
 * On a record's last delivery (`maxReceiveCount`, as the queue's redrive policy) a failure also ends
 * its run as `failed` with the reason before the message moves to the dead-letter queue.
 */
export interface WorkerHandlerDeps {
  worker: RunWorker;
  logger: Logger;
  /** Hands a message back for later (the run is held by a live worker); without it, SQS's own timeout applies. */
  visibility?: MessageVisibility;
}

export function makeWorkerHandler(deps: WorkerHandlerDeps, options: { maxReceiveCount?: number } = {}) {
  const maxReceiveCount = options.maxReceiveCount ?? runDefaults.maxReceiveCount;
  const { worker, logger } = deps;

  /** One record: resolves when its message is to be deleted, rejects when it is to be received again. */
  const handleRecord = async (record: SQSRecord, budgetMs: number): Promise<void> => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = undefined;
    }
    const parsed = RunMessageSchema.safeParse(body);
    if (!parsed.success) {
      logger.error('unreadable run message dropped', {
        messageId: record.messageId,
        body: record.body.slice(0, 500),
      });
      return;
    }
    const message = parsed.data;
    // Every line of this record's work, the worker's and the stores' included, names its job and run.
    await logger.withKeys({ job_id: message.job_id, execution_id: message.execution_id }, async () => {
      const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
      const last = receives >= maxReceiveCount;
      const fields = { messageId: record.messageId, receives };
      let outcome: MessageOutcome;
      try {
        outcome = await worker.handle(message, budgetMs);
      } catch (error) {
        logger.error(
          last ? 'run message failed its last delivery' : 'run message failed; it will be redelivered',
          { ...fields, error },
        );
        if (last) {
          const reason = `Processing failed on all ${receives} deliveries: ${error instanceof Error ? error.message : String(error)}`;
          await worker.abandon(message, reason).catch((abandonError: unknown) => {
            logger.error('could not mark the run failed; the sweeper will end it', { error: abandonError });
          });
        }
        throw error;
      }
      if (outcome.kind === 'done') return;
      if (last) {
        // Kept once more it would go to the DLQ; the worker holding the run finishes it, or the sweeper does.
        logger.warn('message for a held run acknowledged on its last delivery', fields);
        return;
      }
      await deps.visibility?.delay(record, outcome.afterSeconds).catch((error: unknown) => {
        logger.warn('could not delay the message; it returns after the queue visibility timeout', {
          ...fields,
          error,
        });
      });
      throw new HeldRunError(outcome.afterSeconds);
    });
  };

  const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event, context: Context) => {
    const budgetMs = context.getRemainingTimeInMillis?.() ?? DEFAULT_BUDGET_MS;
    // A processor per invocation: it holds the batch's records and outcomes, and the local runtime runs
    // batches concurrently.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, (record: SQSRecord) => handleRecord(record, budgetMs), processor, {
      context,
      processInParallel: true,
      // A batch whose every record failed is answered like any other, every id listed, rather than thrown:
      // SQS and the local queue redeliver exactly those, and the log says why each failed.
      throwOnFullBatchFailure: false,
    });
  });
  return scopedToInvocation(logger, handler);
}

import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { type MessageOutcome, RunWorker, type RunWorkerDeps } from '../app/worker.js';
import { runDefaults } from '../config/defaults.js';
import type { MessageVisibility } from '../ports.js';

const RunMessageSchema = z.object({
  job_id: z.string().min(1),
  execution_id: z.string().min(1),
  attempt: z.number().int().min(1),
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
 * report failures individually (partial batch response), so one bad record never redelivers the rest.
 * A record that is not a run message can never succeed; it is logged with its body and acknowledged.
 * On a record's last delivery (`maxReceiveCount`, as the queue's redrive policy) a failure also ends
 * its run as `failed` with the reason before the message moves to the dead-letter queue.
 */
export interface WorkerHandlerDeps extends RunWorkerDeps {
  /** Hands a message back for later (the run is held by a live worker); without it, SQS's own timeout applies. */
  visibility?: MessageVisibility;
}

export function makeWorkerHandler(deps: WorkerHandlerDeps, options: { maxReceiveCount?: number } = {}) {
  const maxReceiveCount = options.maxReceiveCount ?? runDefaults.maxReceiveCount;
  const worker = new RunWorker(deps);
  return middy<SQSEvent, SQSBatchResponse>().handler(async (event, context: Context) => {
    const budgetMs = context.getRemainingTimeInMillis?.() ?? DEFAULT_BUDGET_MS;
    const results = await Promise.allSettled(
      event.Records.map(async (record) => {
        let body: unknown;
        try {
          body = JSON.parse(record.body);
        } catch {
          body = undefined;
        }
        const parsed = RunMessageSchema.safeParse(body);
        if (!parsed.success) {
          deps.logger.error('unreadable run message dropped', {
            messageId: record.messageId,
            body: record.body.slice(0, 500),
          });
          return;
        }
        const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
        const last = receives >= maxReceiveCount;
        let outcome: MessageOutcome;
        try {
          outcome = await worker.handle(parsed.data, budgetMs);
        } catch (error) {
          deps.logger.error(
            last ? 'run message failed its last delivery' : 'run message failed; it will be redelivered',
            {
              messageId: record.messageId,
              jobId: parsed.data.job_id,
              executionId: parsed.data.execution_id,
              receives,
              error,
            },
          );
          if (last) {
            const reason = `Processing failed on all ${receives} deliveries: ${error instanceof Error ? error.message : String(error)}`;
            await worker.abandon(parsed.data, reason).catch((abandonError: unknown) => {
              deps.logger.error('could not mark the run failed; the sweeper will end it', {
                error: abandonError,
              });
            });
          }
          throw error;
        }
        if (outcome.kind === 'done') return;
        const fields = {
          messageId: record.messageId,
          jobId: parsed.data.job_id,
          executionId: parsed.data.execution_id,
          receives,
        };
        if (last) {
          // Kept once more it would go to the DLQ; the worker holding the run finishes it, or the sweeper does.
          deps.logger.warn('message for a held run acknowledged on its last delivery', fields);
          return;
        }
        await deps.visibility?.delay(record, outcome.afterSeconds).catch((error: unknown) => {
          deps.logger.warn('could not delay the message; it returns after the queue visibility timeout', {
            ...fields,
            error,
          });
        });
        throw new HeldRunError(outcome.afterSeconds);
      }),
    );
    return {
      batchItemFailures: results.flatMap((result, index) =>
        result.status === 'rejected'
          ? [{ itemIdentifier: (event.Records[index] as { messageId: string }).messageId }]
          : [],
      ),
    };
  });
}

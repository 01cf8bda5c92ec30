import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Logger, RunMessage } from '../../shared/ports.js';
import type { QueueJournal } from './queue-journal.js';

/* The local queues' options, messages and the handler they call (their implementation: local-queue.ts). */

/** Time and timers, injectable so tests can drive the queue with a manual clock. */
export interface QueueTimers {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock and timers (looked up at call time, so vitest's fake timers apply too). */
export const realTimers: QueueTimers = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** An SQS-triggered Lambda handler, as `functions/worker` exports it. */
// biome-ignore lint/suspicious/noConfusingVoidType: the aws-lambda SQSHandler shape; `async () => {}` must fit.
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

/** A message as the queue holds it. Times are epoch milliseconds. */
export interface QueuedMessage {
  messageId: string;
  /** The JSON of `message`, exactly as delivered in `SQSRecord.body`. */
  body: string;
  message: RunMessage;
  sentAt: number;
  /** How many times it has been received (delivered to a handler). */
  receiveCount: number;
}

/** A message moved to its queue's dead-letter list after `maxReceiveCount` receives without a delete. */
export interface DeadLetter extends QueuedMessage {
  deadLetteredAt: number;
}

export interface LocalQueuesOptions {
  /**
   * Accept any queue name, creating its queue on first use. With `false`, only `names` exist and any
   * other name throws `UnknownQueueError`. @default true
   */
  allowUnknown?: boolean;
  /** Queues created up front; with `allowUnknown: false`, the only ones (include the default queue). */
  names?: readonly string[];
  /** @default realTimers */
  timers?: QueueTimers;
  /** Where handler failures and dead letters (when no `onDeadLetter` hook is given) are reported. */
  logger?: Logger;
  /**
   * Keeps every message until it is deleted, so a stop or a crash loses none: `restore()` brings them
   * back. Without one the queues live in memory only.
   */
  journal?: QueueJournal;
}

/** How the queues are consumed: one consumer per queue (existing ones and those created later). */
export interface QueueConsumerOptions {
  handler: SqsBatchHandler;
  /** Most records per invocation, like the event source mapping's `BatchSize`. @default 10 */
  batchSize?: number;
  /**
   * The function timeout the Lambda context reports (`getRemainingTimeInMillis()`). Not enforced: a
   * local handler cannot be killed, so a late one keeps its concurrency slot until it settles.
   * @default 30_000
   */
  functionTimeoutMs?: number;
  /** How long a received message stays invisible. @default functionTimeoutMs + 60 s (as the AWS stack sets it) */
  visibilityTimeoutMs?: number;
  /** Receives without a delete after which the next receive moves the message to the DLQ. @default 5 */
  maxReceiveCount?: number;
  /**
   * How often an idle consumer looks again on its own. A safety net only: a send, a finished batch, or
   * a message's visibility (or delay) ending wakes the consumer at once. @default 1_000
   */
  pollIntervalMs?: number;
  /** Batches in flight at once per queue. @default 4 */
  maxConcurrency?: number;
  /** Lambda context `functionName` prefix; the queue name is appended. @default 'worker' */
  functionName?: string;
  /**
   * Called when a message moves to the dead-letter list (its execution must not be silently dropped).
   * A returned promise is awaited by `stop()` and `drained()`; a failure is logged.
   */
  onDeadLetter?: (queue: string, message: DeadLetter) => void | Promise<void>;
}

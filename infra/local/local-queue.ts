import { createHash, randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { clampDelaySeconds, UnknownQueueError } from '../../shared/adapters/run-queue.js';
import { runDefaults } from '../../shared/config/defaults.js';
import type { Logger, MessageVisibility, ReceivedMessage, RunMessage, RunQueue } from '../../shared/ports.js';
import { createLambdaContext } from './http-server.js';
import type {
  DeadLetter,
  LocalQueuesOptions,
  QueueConsumerOptions,
  QueuedMessage,
  QueueTimers,
} from './local-queue-options.js';
import { realTimers } from './local-queue-options.js';
import type { JournaledMessage, QueueJournal } from './queue-journal.js';

const LOCAL_ACCOUNT_ID = '000000000000';
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  sentAt: number;
  /** The end of its send delay; receives move `visibleAt` but not this. */
  delayUntil: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number | null;
  /** The handle of the latest receive; only that receive may delete the message. */
  receiptHandle: string | null;
}

interface QueueState {
  name: string;
  arn: string;
  /** Insertion order is send order, which receives follow (best effort, as a standard queue). */
  messages: Map<string, StoredMessage>;
  deadLetters: DeadLetter[];
  batches: Set<Promise<void>>;
  /** Deliveries in batches whose handler has not settled. */
  inFlightMessages: number;
  timer: unknown;
  pollQueued: boolean;
}

type ResolvedConsumerOptions = Required<Omit<QueueConsumerOptions, 'onDeadLetter'>> &
  Pick<QueueConsumerOptions, 'onDeadLetter'>;

/**
 * In-process queues with SQS standard-queue semantics, feeding the same handler an SQS event source
 * mapping would: a receive hides messages for the visibility timeout and counts the receive; after the
 * handler returns, records not listed in `batchItemFailures` are deleted, the others (all of them if
 * the handler throws or answers something invalid) reappear when their visibility timeout ends; a
 * message received `maxReceiveCount` times without being deleted moves to the queue's dead-letter list
 * on its next receive. A handler still running when the visibility timeout ends does not stop the
 * message from being received again; only the latest receive's outcome can delete it.
 */
export class LocalQueues implements RunQueue, MessageVisibility {
  private readonly queues = new Map<string, QueueState>();
  private readonly allowUnknown: boolean;
  private readonly declared: readonly string[];
  private readonly timers: QueueTimers;
  private readonly logger: Logger | undefined;
  private readonly journal: QueueJournal | undefined;
  private consumer: ResolvedConsumerOptions | null = null;
  private readonly pendingHooks = new Set<Promise<void>>();
  private drainWaiters: (() => void)[] = [];

  constructor(options: LocalQueuesOptions = {}) {
    this.allowUnknown = options.allowUnknown ?? true;
    this.declared = [...new Set(options.names ?? [])];
    this.timers = options.timers ?? realTimers;
    this.logger = options.logger;
    this.journal = options.journal;
    for (const name of this.declared) this.createQueue(name);
  }

  /**
   * Brings back the journal's messages (call before `start`). Whatever the previous process had received
   * is visible at once, since that process is gone; a message still in its send delay waits it out. The
   * journal keeps no receive counts (a write per receive would double its cost), so each restart counts
   * as one receive of every message it brings back: a message that keeps bringing its process down still
   * reaches the dead-letter list. A message for a queue this deployment no longer declares is dropped.
   */
  async restore(): Promise<number> {
    if (!this.journal) return 0;
    const now = this.timers.now();
    let restored = 0;
    for (const record of await this.journal.load()) {
      let state: QueueState;
      try {
        state = this.queue(record.queue, { create: true });
      } catch (error) {
        if (!(error instanceof UnknownQueueError)) throw error;
        this.logger?.error('journaled message for an undeclared queue dropped', {
          queue: record.queue,
          messageId: record.id,
          body: record.body.slice(0, 500),
        });
        await this.journal.remove(record.queue, record.id);
        continue;
      }
      if (state.messages.has(record.id)) continue;
      const receiveCount = record.receiveCount + (record.delayUntil <= now ? 1 : 0);
      if (receiveCount !== record.receiveCount) {
        await this.journal.write({ ...record, receiveCount } satisfies JournaledMessage);
      }
      state.messages.set(record.id, {
        id: record.id,
        body: record.body,
        md5OfBody: createHash('md5').update(record.body).digest('hex'),
        sentAt: record.sentAt,
        delayUntil: record.delayUntil,
        visibleAt: Math.max(record.delayUntil, now),
        receiveCount,
        firstReceivedAt: null,
        receiptHandle: null,
      });
      restored++;
    }
    return restored;
  }

  /**
   * `ChangeMessageVisibility` on a message being handled: it is received again `seconds` from now (if the
   * handler reports it as failed). Unknown or outdated receipt handles change nothing, as on SQS.
   */
  async delay(message: ReceivedMessage, seconds: number): Promise<void> {
    const state = [...this.queues.values()].find((candidate) => candidate.arn === message.eventSourceARN);
    if (!state) return;
    for (const stored of state.messages.values()) {
      if (stored.receiptHandle !== message.receiptHandle) continue;
      stored.visibleAt = this.timers.now() + Math.max(0, seconds) * 1000;
      this.scheduleWake(state);
      return;
    }
  }
  /** Sends to the named queue, visible after `delaySeconds` (clamped to 0–900, like SQS's maximum). */
  async send(queue: string, message: RunMessage, delaySeconds = 0): Promise<void> {
    const state = this.queue(queue, { create: true });
    const now = this.timers.now();
    const delay = clampDelaySeconds(delaySeconds);
    const body = JSON.stringify(message);
    const id = randomUUID();
    const delayUntil = now + delay * 1000;
    // Kept on disk before the caller is told it was sent: an acknowledged run survives a crash.
    await this.journal?.write({ id, queue, body, sentAt: now, delayUntil, receiveCount: 0 });
    state.messages.set(id, {
      id,
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      sentAt: now,
      delayUntil,
      visibleAt: delayUntil,
      receiveCount: 0,
      firstReceivedAt: null,
      receiptHandle: null,
    });
    if (delay === 0) this.queuePoll(state);
    else this.scheduleWake(state);
  }

  /**
   * Starts a consumer on every queue, including queues created later. Each polls at once, then whenever
   * a send, a finished batch or a visibility timeout gives it something to do.
   */
  start(options: QueueConsumerOptions): void {
    if (this.consumer) throw new Error('The local queue consumers are already started.');
    const functionTimeoutMs = positive('functionTimeoutMs', options.functionTimeoutMs ?? 30_000);
    this.consumer = {
      handler: options.handler,
      batchSize: positiveInteger('batchSize', options.batchSize ?? 10),
      functionTimeoutMs,
      visibilityTimeoutMs: positive(
        'visibilityTimeoutMs',
        options.visibilityTimeoutMs ?? functionTimeoutMs + runDefaults.visibilityTimeoutMarginSeconds * 1000,
      ),
      maxReceiveCount: positiveInteger(
        'maxReceiveCount',
        options.maxReceiveCount ?? runDefaults.maxReceiveCount,
      ),
      pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs ?? 1_000),
      maxConcurrency: positiveInteger('maxConcurrency', options.maxConcurrency ?? 4),
      functionName: options.functionName ?? 'worker',
      onDeadLetter: options.onDeadLetter,
    };
    for (const state of this.queues.values()) this.queuePoll(state);
  }

  /**
   * Stops polling, then waits for the batches (and dead-letter hooks) in flight, at most `timeoutMs`;
   * past that it logs and returns, leaving them to finish on their own. Messages stay queued (and, with
   * a journal, kept for the next start).
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.consumer = null;
    for (const state of this.queues.values()) {
      if (state.timer !== undefined) this.timers.clearTimeout(state.timer);
      state.timer = undefined;
    }
    const pending = [
      ...this.pendingHooks,
      ...[...this.queues.values()].flatMap((state) => [...state.batches]),
    ];
    if (pending.length === 0) {
      await this.journal?.flush();
      return;
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    let timer: unknown;
    const timedOut = new Promise<'timed_out'>((resolveTimeout) => {
      timer = this.timers.setTimeout(() => resolveTimeout('timed_out'), timeoutMs);
    });
    const outcome = await Promise.race([
      Promise.allSettled(pending).then(() => 'settled' as const),
      timedOut,
    ]);
    this.timers.clearTimeout(timer);
    if (outcome === 'timed_out') {
      this.logger?.warn('local queues stopped with batches still running', {
        timeoutMs,
        inFlight: Object.fromEntries(
          [...this.queues.values()].map((state) => [state.name, state.inFlightMessages]),
        ),
      });
    }
    // Deletions of what finished are on disk before the process may exit; what did not finish stays kept.
    await this.journal?.flush();
  }

  /** Messages held by the queue, whatever their visibility (not counting deleted or dead-lettered ones). */
  depth(queue: string): number {
    return this.queue(queue, { create: false })?.messages.size ?? 0;
  }

  /** The messages the queue holds, in send order (copies), whatever their visibility. */
  messages(queue: string): QueuedMessage[] {
    return [...(this.queue(queue, { create: false })?.messages.values() ?? [])].map(toView);
  }

  /** Deliveries in batches whose handler has not settled yet. */
  inFlight(queue: string): number {
    return this.queue(queue, { create: false })?.inFlightMessages ?? 0;
  }

  /** The queue's dead-letter list, oldest first (a copy). */
  deadLetters(queue: string): DeadLetter[] {
    return [...(this.queue(queue, { create: false })?.deadLetters ?? [])];
  }

  /** Names of the queues that exist so far. */
  names(): string[] {
    return [...this.queues.keys()];
  }

  /**
   * Resolves once every queue is empty, no batch is in flight and no dead-letter hook is pending. With
   * `timeoutMs`, rejects if that has not happened by then (the error says what is left).
   */
  drained(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise<void>((resolveDrained, reject) => {
      let timer: unknown;
      const waiter = () => {
        if (timer !== undefined) this.timers.clearTimeout(timer);
        resolveDrained();
      };
      this.drainWaiters.push(waiter);
      if (options.timeoutMs === undefined) return;
      const timeoutMs = options.timeoutMs;
      timer = this.timers.setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((candidate) => candidate !== waiter);
        const left = [...this.queues.values()]
          .filter((state) => state.messages.size > 0 || state.inFlightMessages > 0)
          .map((state) => `${state.name}: ${state.messages.size} held, ${state.inFlightMessages} in flight`);
        reject(
          new Error(
            `The local queues did not drain within ${timeoutMs} ms (${left.join('; ') || 'dead-letter hooks pending'}).`,
          ),
        );
      }, timeoutMs);
    });
  }

  private queue(name: string, options: { create: true }): QueueState;
  private queue(name: string, options: { create: false }): QueueState | undefined;
  private queue(name: string, options: { create: boolean }): QueueState | undefined {
    const existing = this.queues.get(name);
    if (existing) return existing;
    if (!this.allowUnknown)
      throw new UnknownQueueError(name, this.declared, 'declared in the local deployment config');
    return options.create ? this.createQueue(name) : undefined;
  }

  private createQueue(name: string): QueueState {
    const state: QueueState = {
      name,
      arn: `arn:aws:sqs:local:${LOCAL_ACCOUNT_ID}:${name}`,
      messages: new Map(),
      deadLetters: [],
      batches: new Set(),
      inFlightMessages: 0,
      timer: undefined,
      pollQueued: false,
    };
    this.queues.set(name, state);
    if (this.consumer) this.queuePoll(state);
    return state;
  }

  /** Polls on the next microtask: sends in one synchronous run of code share a batch, like a batching window. */
  private queuePoll(state: QueueState): void {
    if (!this.consumer || state.pollQueued) return;
    state.pollQueued = true;
    queueMicrotask(() => {
      state.pollQueued = false;
      this.poll(state);
    });
  }

  private poll(state: QueueState): void {
    const consumer = this.consumer;
    if (!consumer) return;
    while (state.batches.size < consumer.maxConcurrency) {
      const received = this.receive(state, consumer);
      if (received.length === 0) break;
      this.dispatch(state, consumer, received);
    }
    this.scheduleWake(state);
    this.notifyIfDrained();
  }

  /** Takes up to `batchSize` visible messages, dead-lettering those already received `maxReceiveCount` times. */
  private receive(state: QueueState, consumer: ResolvedConsumerOptions): SQSRecord[] {
    const now = this.timers.now();
    const records: SQSRecord[] = [];
    for (const message of state.messages.values()) {
      if (records.length >= consumer.batchSize) break;
      if (message.visibleAt > now) continue;
      if (message.receiveCount >= consumer.maxReceiveCount) {
        this.deadLetter(state, consumer, message, now);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.receiptHandle = randomUUID();
      message.visibleAt = now + consumer.visibilityTimeoutMs;
      records.push({
        messageId: message.id,
        receiptHandle: message.receiptHandle,
        body: message.body,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          SenderId: LOCAL_ACCOUNT_ID,
          ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
        },
        messageAttributes: {},
        md5OfBody: message.md5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: state.arn,
        awsRegion: 'local',
      });
    }
    return records;
  }

  private deadLetter(
    state: QueueState,
    consumer: ResolvedConsumerOptions,
    message: StoredMessage,
    now: number,
  ): void {
    state.messages.delete(message.id);
    this.forget(state, message.id);
    const dead: DeadLetter = { ...toView(message), deadLetteredAt: now };
    state.deadLetters.push(dead);
    const hook = consumer.onDeadLetter;
    if (!hook) {
      this.logger?.error('message moved to the dead-letter list', {
        queue: state.name,
        messageId: message.id,
        receiveCount: message.receiveCount,
      });
      return;
    }
    const pending: Promise<void> = Promise.resolve()
      .then(() => hook(state.name, { ...dead, message: { ...dead.message } }))
      .catch((error: unknown) => {
        this.logger?.error('dead-letter hook failed', { queue: state.name, messageId: message.id, error });
      })
      .finally(() => {
        this.pendingHooks.delete(pending);
        this.notifyIfDrained();
      });
    this.pendingHooks.add(pending);
  }

  private dispatch(state: QueueState, consumer: ResolvedConsumerOptions, records: SQSRecord[]): void {
    state.inFlightMessages += records.length;
    const batch: Promise<void> = this.runBatch(state, consumer, records)
      .catch((error: unknown) => {
        this.logger?.error('local queue batch bookkeeping failed', { queue: state.name, error });
      })
      .finally(() => {
        state.batches.delete(batch);
        state.inFlightMessages -= records.length;
        this.queuePoll(state);
        this.notifyIfDrained();
      });
    state.batches.add(batch);
  }

  private async runBatch(
    state: QueueState,
    consumer: ResolvedConsumerOptions,
    records: SQSRecord[],
  ): Promise<void> {
    const context = createLambdaContext({
      functionName: `${consumer.functionName}-${state.name}`,
      awsRequestId: randomUUID(),
      timeoutMs: consumer.functionTimeoutMs,
    });
    let failed: ReadonlySet<string>;
    try {
      const response = await consumer.handler({ Records: records }, context);
      failed = this.failedItems(state, records, response);
    } catch (error) {
      this.logger?.warn('queue handler threw; the whole batch will be received again', {
        queue: state.name,
        awsRequestId: context.awsRequestId,
        messageIds: records.map((record) => record.messageId),
        error,
      });
      failed = new Set(records.map((record) => record.messageId));
    }
    for (const record of records) {
      if (failed.has(record.messageId)) continue;
      const message = state.messages.get(record.messageId);
      // A receipt handle from an older receive deletes nothing: the message was received again after its
      // visibility timeout, and that later delivery's outcome decides.
      if (message?.receiptHandle === record.receiptHandle) {
        state.messages.delete(record.messageId);
        this.forget(state, record.messageId);
      }
    }
  }

  /**
   * The message ids to keep, read as Lambda reads a partial batch response: nothing (or an empty or
   * null list) means all succeeded; an unknown, empty or missing `itemIdentifier`, or a response of the
   * wrong shape, fails the whole batch.
   */
  private failedItems(state: QueueState, records: SQSRecord[], response: unknown): ReadonlySet<string> {
    const all = new Set(records.map((record) => record.messageId));
    if (response === undefined || response === null) return new Set();
    const failures =
      typeof response === 'object' ? (response as { batchItemFailures?: unknown }).batchItemFailures : [];
    if (failures === undefined || failures === null) return new Set();
    const failed = new Set<string>();
    let invalid = !Array.isArray(failures);
    for (const failure of Array.isArray(failures) ? failures : []) {
      const id: unknown =
        typeof failure === 'object' && failure !== null
          ? (failure as { itemIdentifier?: unknown }).itemIdentifier
          : undefined;
      if (typeof id === 'string' && all.has(id)) failed.add(id);
      else invalid = true;
    }
    if (!invalid) return failed;
    this.logger?.warn(
      'queue handler returned an invalid batch response; the whole batch will be received again',
      {
        queue: state.name,
        messageIds: [...all],
      },
    );
    return all;
  }

  /** Removes a deleted message from the journal; if that fails it comes back after a restart, harmlessly. */
  private forget(state: QueueState, id: string): void {
    this.journal?.remove(state.name, id).catch((error: unknown) => {
      this.logger?.warn('could not remove a message from the journal', {
        queue: state.name,
        messageId: id,
        error,
      });
    });
  }

  /** Wakes the consumer when the next message becomes visible, or after the poll interval at the latest. */
  private scheduleWake(state: QueueState): void {
    const consumer = this.consumer;
    if (!consumer) return;
    if (state.timer !== undefined) this.timers.clearTimeout(state.timer);
    const now = this.timers.now();
    let next = now + consumer.pollIntervalMs;
    for (const message of state.messages.values()) {
      if (message.visibleAt > now && message.visibleAt < next) next = message.visibleAt;
    }
    state.timer = this.timers.setTimeout(() => {
      state.timer = undefined;
      this.poll(state);
    }, next - now);
  }

  private isDrained(): boolean {
    if (this.pendingHooks.size > 0) return false;
    for (const state of this.queues.values()) {
      if (state.messages.size > 0 || state.batches.size > 0) return false;
    }
    return true;
  }

  private notifyIfDrained(): void {
    if (this.drainWaiters.length === 0 || !this.isDrained()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

function toView(message: StoredMessage): QueuedMessage {
  return {
    messageId: message.id,
    body: message.body,
    message: JSON.parse(message.body) as RunMessage,
    sentAt: message.sentAt,
    receiveCount: message.receiveCount,
  };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number.`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer.`);
  return value;
}

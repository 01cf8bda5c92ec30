import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { EMPTY_ALERT_STATE, type JobAlertState } from '../../domain/alert-policy.js';
import type { Job } from '../../domain/job.js';
import type { Notification } from '../../domain/notification.js';
import type { AlertStore, OutboxEntry, VersionedAlertState, WatchedJob } from '../../ports.js';
import {
  alertKeys,
  OUTBOX_PARTITION,
  type WatchGroup,
  watchedFromItem,
  watchGroup,
  watchItem,
} from './alert-items.js';
import { batchedItems } from './batched-items.js';
import type { TransactItem } from './expressions.js';
import { keys } from './keys.js';

/** Outbox entries outlive the day of retries by a margin, then DynamoDB's TTL removes any left behind. */
const OUTBOX_TTL_SECONDS = 3 * 86_400;
/** How far behind a run's end a job's `last_success_at` may be while the job keeps succeeding. */
export const SUCCESS_REFRESH_MS = 60_000;
/** Pages of one watch partition a sweep reads (each up to 1 MB: thousands of small watch items). */
const MAX_WATCH_PAGES = 10;

/** The state's fields kept as attributes of their own (the success path writes one of them alone). */
type StateDoc = Omit<JobAlertState, 'consecutiveFailures' | 'lastSuccessAt'>;

/**
 * Alerting in the jobs table:
 *
 * - a job's state, `JOB#<job>` / `ALERT_STATE`: `cf` (failures in a row) and `ls` (last success, as of
 *   the last change of the state) as attributes, the rest as a JSON `doc`, and `version`; every change
 *   is conditional on `version`;
 * - a job's last success, `JOB#<job>` / `LAST_SUCCESS` (`at`): a success with no failures counted reads
 *   it and the state (consistently, batched with the table's other reads), and puts it when the one
 *   recorded is a minute old or more — unconditionally, so that the puts of runs of many jobs ending
 *   together go as one BatchWriteItem. The job's `last_success_at` is the later of the two;
 * - the outbox, one partition `OUTBOX` sorted by when each entry is due (`<due>#<event id>#<channel id>`),
 *   so a sender reads only what is due; entries are written in the same transaction as the state change
 *   that decided them, and moved (delete + put) to their next try;
 * - the watch partitions `ALERT_WATCH#policy` and `ALERT_WATCH#cron`, written by the job store (and once, for
 *   the jobs written before alerting, by the backfill, whose progress is `MIGRATION#ALERT_WATCH`).
 */
export class DynamoAlertStore implements AlertStore {
  /** Jobs whose `last_success_at` this process is writing: runs ending together write it once. */
  private readonly recording = new Set<string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async recordSuccess(jobId: string, at: string): Promise<VersionedAlertState | null> {
    // Reads first: a job that keeps succeeding is written at most once a minute, so the items of a busy
    // job are not written by every run (a partition takes 1,000 writes a second, 3,000 reads), and a run's
    // success costs a read unit instead of a write unit.
    const { state, last } = await this.items(jobId);
    if (state && Number(state.cf ?? 0) > 0) return stateFromItems(state, last);
    const recorded = lastSuccessOf(state, last);
    const since = recorded === null ? Number.POSITIVE_INFINITY : Date.parse(at) - Date.parse(recorded);
    if (since < SUCCESS_REFRESH_MS || this.recording.has(jobId)) return null;
    // A failure counted between the reads and this put keeps its count: this success ended before the
    // reads, so before that failure was counted; a failure that ended before this success but is counted
    // after this put is not counted in a row (see `decideFailure`).
    this.recording.add(jobId);
    try {
      await batchedItems(this.client, this.tableName).put({ ...alertKeys.lastSuccess(jobId), at });
      return null;
    } finally {
      this.recording.delete(jobId);
    }
  }

  /**
   * The state and last-success items, read consistently with the other point reads of the table asked for
   * meanwhile (see `batched-items.ts`): forty runs ending together, of one job or of forty, make one request.
   */
  private async items(
    jobId: string,
  ): Promise<{ state: Record<string, unknown> | undefined; last: Record<string, unknown> | undefined }> {
    const reads = batchedItems(this.client, this.tableName);
    const [state, last] = await Promise.all([
      reads.get(alertKeys.state(jobId), { consistent: true }),
      reads.get(alertKeys.lastSuccess(jobId), { consistent: true }),
    ]);
    return { state, last };
  }

  async getState(jobId: string): Promise<VersionedAlertState> {
    const { state, last } = await this.items(jobId);
    return stateFromItems(state, last);
  }

  async commit(
    jobId: string,
    { state, version }: VersionedAlertState,
    notifications: readonly OutboxEntry[],
  ): Promise<boolean> {
    const { consecutiveFailures, lastSuccessAt, ...rest } = state;
    const doc: StateDoc = rest;
    const values: Record<string, unknown> = {
      ':cf': consecutiveFailures,
      ':doc': JSON.stringify(doc),
      ':next': version + 1,
    };
    let update = 'SET cf = :cf, doc = :doc, version = :next';
    if (lastSuccessAt !== null) {
      update += ', ls = :ls';
      values[':ls'] = lastSuccessAt;
    }
    let condition = 'attribute_not_exists(version)';
    if (version > 0) {
      condition = 'version = :expected';
      values[':expected'] = version;
    }
    const stateWrite = {
      TableName: this.tableName,
      Key: alertKeys.state(jobId),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
    };
    try {
      if (notifications.length === 0) {
        await this.client.send(new UpdateCommand(stateWrite));
      } else {
        const items: TransactItem[] = [
          { Update: stateWrite },
          ...notifications.map((entry) => ({
            Put: {
              TableName: this.tableName,
              Item: outboxItem(entry),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          })),
        ];
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      }
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        if (
          reasons.some(
            (reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict',
          )
        ) {
          return false;
        }
      }
      throw error;
    }
  }

  async watchedJobs(group: WatchGroup): Promise<WatchedJob[]> {
    const jobs: WatchedJob[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_WATCH_PAGES; page++) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `ALERT_WATCH#${group}` },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) jobs.push(watchedFromItem(item));
      startKey = result.LastEvaluatedKey;
      if (!startKey) break;
    }
    return jobs;
  }

  async watchBackfill(): Promise<{ done: boolean; cursor: string | null }> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: alertKeys.watchBackfill(), ConsistentRead: true }),
    );
    return { done: item?.done === true, cursor: typeof item?.cursor === 'string' ? item.cursor : null };
  }

  async saveWatchBackfill(progress: { done: boolean; cursor: string | null }): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...alertKeys.watchBackfill(),
          done: progress.done,
          ...(progress.cursor !== null && { cursor: progress.cursor }),
        },
      }),
    );
  }

  async watchIfUnwatched(job: Job, version: number): Promise<boolean> {
    const group = watchGroup(job);
    if (group === null) return false;
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              // The job as it was read: a job written since has had its watch item written with it.
              ConditionCheck: {
                TableName: this.tableName,
                Key: keys.job(job.id),
                ConditionExpression: 'version = :version',
                ExpressionAttributeValues: { ':version': version },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: watchItem(group, job),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      // The job changed or the item exists: nothing to do. Anything else (a conflict with a write in flight)
      // is thrown, and the backfill tries this job again on its next pass.
      const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return false;
      throw error;
    }
  }

  async due(now: Date, limit: number): Promise<OutboxEntry[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk <= :now',
        // `~` sorts after every character of an event or channel id: all entries due at `now` are in.
        ExpressionAttributeValues: { ':pk': OUTBOX_PARTITION, ':now': `${now.toISOString()}#~` },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map(entryFromItem);
  }

  async claim(entry: OutboxEntry, now: Date, until: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: outboxKey(entry),
          UpdateExpression: 'SET claimed_until = :until',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(claimed_until) OR claimed_until < :now)',
          ExpressionAttributeValues: { ':until': until.toISOString(), ':now': now.toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async reschedule(
    entry: OutboxEntry,
    next: { dueAt: string; attempt: number; lastError: string },
  ): Promise<void> {
    const moved: OutboxEntry = { ...entry, ...next };
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.tableName, Key: outboxKey(entry) } },
          { Put: { TableName: this.tableName, Item: outboxItem(moved) } },
        ],
      }),
    );
  }

  async remove(entry: OutboxEntry): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: outboxKey(entry) }));
  }
}

const outboxKey = (entry: OutboxEntry) =>
  alertKeys.outbox(entry.dueAt, entry.sequence, entry.notification.id, entry.channelId);

function outboxItem(entry: OutboxEntry): Record<string, unknown> {
  return {
    ...outboxKey(entry),
    channel_id: entry.channelId,
    attempt: entry.attempt,
    sequence: entry.sequence,
    last_error: entry.lastError,
    notification: JSON.stringify(entry.notification),
    expires_at: Math.floor(Date.parse(entry.notification.occurred_at) / 1000) + OUTBOX_TTL_SECONDS,
  };
}

function entryFromItem(item: Record<string, unknown>): OutboxEntry {
  const sk = String(item.sk);
  return {
    channelId: String(item.channel_id),
    notification: JSON.parse(String(item.notification)) as Notification,
    dueAt: sk.slice(0, sk.indexOf('#')),
    attempt: Number(item.attempt ?? 0),
    sequence: Number(item.sequence ?? 0),
    lastError: typeof item.last_error === 'string' ? item.last_error : null,
  };
}

/** The later of the state's `ls` and the last-success item's `at`. */
function lastSuccessOf(
  state: Record<string, unknown> | undefined,
  last: Record<string, unknown> | undefined,
): string | null {
  // ISO times of one format: the later sorts last.
  const times = [state?.ls, last?.at].filter((value): value is string => typeof value === 'string');
  return times.sort().at(-1) ?? null;
}

function stateFromItems(
  item: Record<string, unknown> | undefined,
  last: Record<string, unknown> | undefined,
): VersionedAlertState {
  if (!item) return { state: { ...EMPTY_ALERT_STATE, lastSuccessAt: lastSuccessOf(item, last) }, version: 0 };
  const doc = typeof item.doc === 'string' ? (JSON.parse(item.doc) as Partial<StateDoc>) : {};
  return {
    state: {
      ...EMPTY_ALERT_STATE,
      ...doc,
      consecutiveFailures: Number(item.cf ?? 0),
      lastSuccessAt: lastSuccessOf(item, last),
    },
    version: Number(item.version ?? 0),
  };
}

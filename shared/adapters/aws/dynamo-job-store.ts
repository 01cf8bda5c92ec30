import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, ValidationError } from '../../domain/errors.js';
import type { Job, JobListFilter } from '../../domain/job.js';
import type { JobPage, JobStore, NewWebhook, VersionedJob } from '../../ports.js';
import { alertWatchChanges } from './alert-items.js';
import { batchedItems } from './batched-items.js';
import { BoundedReader, DEFAULT_READ_CEILING, type ReadCeiling } from './bounded-query.js';
import { conflictPause } from './conflicts.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { TransactItem } from './expressions.js';
import { setAll } from './expressions.js';
import { JOBS_TABLE } from './jobs-table.js';
import { keys } from './keys.js';

/** The stored shape of a job: keys for the table and its indexes, the filter attributes, and the document. */
interface JobItem {
  pk: string;
  sk: string;
  gsi1pk: string;
  gsi1sk: string;
  gsi2pk: string;
  gsi2sk: string;
  gsi3pk: string;
  gsi3sk: string;
  trigger_type: string;
  enabled: boolean;
  version: number;
  /** The job as JSON text: any JSON the API accepted round-trips, whatever DynamoDB's number range. */
  doc: string;
}

const ALL_JOBS = 'JOBS';
const byTrigger = (trigger: string) => `JOBS#TRIGGER#${trigger}`;
const byEnabled = (enabled: boolean) => `JOBS#ENABLED#${enabled}`;
const listSortKey = (job: Job) => `${job.created_at}#${job.id}`;
const MAX_FILTERED_READ = 200;
const MAX_CONFLICT_RETRIES = 6;
/** Job document bytes per list page, well under the 6 MB a Lambda response may hold. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;
const SORT_KEY_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(job_[0-9a-f-]{36})$/;

function toItem(job: Job, version: number): JobItem {
  const sortKey = listSortKey(job);
  return {
    ...keys.job(job.id),
    gsi1pk: ALL_JOBS,
    gsi1sk: sortKey,
    gsi2pk: byTrigger(job.trigger_type),
    gsi2sk: sortKey,
    gsi3pk: byEnabled(job.enabled),
    gsi3sk: sortKey,
    trigger_type: job.trigger_type,
    enabled: job.enabled,
    version,
    doc: JSON.stringify(job),
  };
}

function fromItem(item: Record<string, unknown>): VersionedJob {
  return { job: JSON.parse(String(item.doc)) as Job, version: Number(item.version) };
}

/**
 * Jobs in one DynamoDB table (see `jobs-table.ts`). Every access is a GetItem or a Query; every write
 * is conditional, so a stale writer gets a conflict instead of overwriting or resurrecting a job.
 */
export class DynamoJobStore implements JobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** How much one list request may read. @default DEFAULT_READ_CEILING */
    private readonly readCeiling: ReadCeiling = DEFAULT_READ_CEILING,
  ) {}

  async create(job: Job, webhook?: NewWebhook): Promise<VersionedJob> {
    await this.write(job, [
      {
        Put: {
          TableName: this.tableName,
          Item: toItem(job, 1),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...this.entityRefChanges(null, job),
      ...this.webhookChanges(null, job, webhook),
      ...alertWatchChanges(this.tableName, null, job),
    ]);
    return { job, version: 1 };
  }

  async get(id: string): Promise<VersionedJob | null> {
    const item = await batchedItems(this.client, this.tableName).get(keys.job(id), { consistent: true });
    return item ? fromItem(item) : null;
  }

  async replace(
    job: Job,
    expectedVersion: number,
    previous: Job,
    webhook?: NewWebhook,
  ): Promise<VersionedJob | null> {
    const version = expectedVersion + 1;
    const { pk: _pk, sk: _sk, ...attributes } = toItem(job, version);
    const set = setAll(attributes);
    const written = await this.write(job, [
      {
        // An update rather than a put: counters kept on the job item (its execution count) stay as they are.
        Update: {
          TableName: this.tableName,
          Key: keys.job(job.id),
          ...set,
          // attribute_exists too: a job deleted meanwhile must stay deleted.
          ConditionExpression: 'attribute_exists(pk) AND version = :expected',
          ExpressionAttributeValues: { ...set.ExpressionAttributeValues, ':expected': expectedVersion },
        },
      },
      ...this.entityRefChanges(previous, job),
      ...this.webhookChanges(previous, job, webhook),
      ...alertWatchChanges(this.tableName, previous, job),
    ]);
    return written ? { job, version } : null;
  }

  async delete(job: Job, expectedVersion: number): Promise<boolean> {
    return this.write(job, [
      {
        Delete: {
          TableName: this.tableName,
          Key: keys.job(job.id),
          ConditionExpression: 'attribute_exists(pk) AND version = :expected',
          ExpressionAttributeValues: { ':expected': expectedVersion },
        },
      },
      ...this.entityRefChanges(job, null),
      ...this.webhookChanges(job, null),
      ...alertWatchChanges(this.tableName, job, null),
    ]);
  }

  /**
   * The webhook path item follows the job: written (unique) when the job gets a path, deleted when it
   * loses it or is deleted, in the job's own transaction.
   */
  private webhookChanges(before: Job | null, after: Job | null, webhook?: NewWebhook): TransactItem[] {
    const beforePath = before?.webhook_path ?? null;
    const afterPath = after?.webhook_path ?? null;
    if (beforePath === afterPath) {
      if (afterPath === null || after === null) return [];
      // The path item carries the job, so a delivery reads one item: it changes with the job.
      return [
        {
          Update: {
            TableName: this.tableName,
            Key: keys.webhook(afterPath),
            UpdateExpression: 'SET job_doc = :doc',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':doc': JSON.stringify(after) },
          },
        },
      ];
    }
    const changes: TransactItem[] = [];
    if (beforePath !== null) {
      changes.push({ Delete: { TableName: this.tableName, Key: keys.webhook(beforePath) } });
    }
    if (afterPath !== null && after !== null) {
      if (!webhook) throw new Error(`Job ${after.id} gets webhook path without a secret`);
      changes.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...keys.webhook(afterPath),
            job_id: after.id,
            job_doc: JSON.stringify(after),
            sealed_secret: webhook.sealedSecret,
            previous_sealed_secret: null,
            previous_valid_until: null,
            rotated_at: null,
            last_secret_used: null,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    return changes;
  }

  /**
   * Keeps each entity's count of the jobs naming it in step with the job write, in the same
   * transaction: the entity must exist with the job's entity type, and an entity with references
   * cannot be deleted (see DynamoEntityStore.delete).
   */
  private entityRefChanges(before: Job | null, after: Job | null): TransactItem[] {
    const beforeId = before?.entity_id ?? null;
    const afterId = after?.entity_id ?? null;
    const sameEntity = beforeId === afterId && before?.entity_type === after?.entity_type;
    const changes: TransactItem[] = [];
    if (beforeId !== null && !sameEntity) {
      changes.push({
        Update: {
          TableName: this.tableName,
          Key: keys.entity(beforeId),
          UpdateExpression: 'ADD job_refs :minus',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':minus': -1 },
        },
      });
    }
    if (afterId !== null && !sameEntity) {
      changes.push({
        Update: {
          TableName: this.tableName,
          Key: keys.entity(afterId),
          UpdateExpression: 'ADD job_refs :plus',
          ConditionExpression: 'attribute_exists(pk) AND entity_type = :type',
          ExpressionAttributeValues: { ':plus': 1, ':type': after?.entity_type },
        },
      });
    }
    return changes;
  }

  /**
   * Runs the transaction. The job's own condition failing means a conflict (false); the new entity's
   * failing means the job names an entity that does not exist with that type (422).
   */
  private async write(job: Job, items: TransactItem[]): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return true;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        // Jobs naming the same entity update its counter; concurrent ones conflict and must retry.
        if (
          attempt < MAX_CONFLICT_RETRIES &&
          reasons.some((reason) => reason.Code === 'TransactionConflict')
        ) {
          await conflictPause(attempt);
          continue;
        }
        return this.interpret(job, items, error);
      }
    }
  }

  /**
   * Why the transaction was cancelled. The job's own condition failing is a conflict (false), or for
   * a create, a duplicate id; the entity's failing means the job names an entity that does not exist
   * with that type (422); a conflict that outlasted the retries is a 409.
   */
  private interpret(job: Job, items: TransactItem[], error: TransactionCanceledException): boolean {
    const reasons = error.CancellationReasons ?? [];
    const creating = 'Put' in (items[0] ?? {});
    if (reasons[0]?.Code === 'ConditionalCheckFailed') {
      if (creating) throw error;
      return false;
    }
    const failedItems = reasons.flatMap((reason, index) =>
      index > 0 && reason.Code === 'ConditionalCheckFailed' ? [items[index]] : [],
    );
    if (failedItems.some((item) => String(item?.Put?.Item?.pk ?? '').startsWith('WEBHOOK#'))) {
      // 192 random bits collided: astronomically unlikely, and a retry draws a new path.
      throw new ConflictError('The webhook path drawn for this job is taken; try again.', { cause: error });
    }
    if (failedItems.length > 0) {
      throw new ValidationError([
        {
          path: 'entity_id',
          message: `no ${job.entity_type ?? ''} entity "${job.entity_id ?? ''}" exists; create it with POST /entities first`,
          code: 'unknown_entity',
        },
      ]);
    }
    if (reasons.some((reason) => reason.Code === 'TransactionConflict')) {
      if (!creating) return false;
      throw new ConflictError('Too many concurrent changes to the same entity; try again.', { cause: error });
    }
    throw error;
  }

  /**
   * One page of jobs, newest first, read within the request's ceiling. The combined trigger + enabled
   * filter reads ahead and drops what does not match; a request that reaches the ceiling answers the jobs
   * it found (possibly none) with a cursor after the last job it looked at.
   */
  async list(filter: JobListFilter): Promise<JobPage> {
    const { index, partition, residualEnabled } = chooseIndex(filter);
    const startKey = filter.cursor === undefined ? undefined : startKeyFrom(filter.cursor, index, partition);
    // One extra item tells whether another page exists, so the last page never carries a cursor.
    const wanted = filter.limit + 1;
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey },
      ExpressionAttributeValues: { ':pk': partition },
      ScanIndexForward: false,
      ExclusiveStartKey: startKey,
    };
    if (residualEnabled !== undefined) {
      input.FilterExpression = 'enabled = :enabled';
      input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ':enabled': residualEnabled };
    }
    // With a residual filter some evaluated items are dropped; reading ahead saves round trips, and the
    // cursor comes from the last item returned, so over-reading loses nothing.
    const read = await new BoundedReader(this.client, this.readCeiling).read(
      input,
      wanted,
      residualEnabled === undefined ? undefined : Math.min(MAX_FILTERED_READ, wanted * 2),
    );
    const items = read.items;

    // A page also stops short of MAX_PAGE_BYTES of job documents: jobs may be up to 256 KiB each and a
    // Lambda response is capped at 6 MB. The cursor then continues after the last job returned.
    let pageBytes = 0;
    let count = 0;
    for (const item of items.slice(0, filter.limit)) {
      pageBytes += Buffer.byteLength(String(item.doc), 'utf8');
      if (count > 0 && pageBytes > MAX_PAGE_BYTES) break;
      count++;
    }
    const jobs = items.slice(0, count).map((item) => fromItem(item).job);
    const last = jobs.at(-1);
    let nextCursor: string | null = null;
    if (items.length > count && last) nextCursor = encodeCursor(listSortKey(last));
    else if (!read.complete) {
      // Stopped at the ceiling: continue after the last item evaluated, which the filter may have dropped.
      const evaluated = read.lastEvaluatedKey?.[index.sortKey];
      if (typeof evaluated === 'string') nextCursor = encodeCursor(evaluated);
    }
    return { jobs, nextCursor };
  }
}

type IndexSpec = (typeof JOBS_TABLE.indexes)[keyof typeof JOBS_TABLE.indexes];

function chooseIndex(filter: JobListFilter): {
  index: IndexSpec;
  partition: string;
  residualEnabled?: boolean;
} {
  if (filter.trigger_type !== undefined) {
    return {
      index: JOBS_TABLE.indexes.byTrigger,
      partition: byTrigger(filter.trigger_type),
      ...(filter.enabled !== undefined && { residualEnabled: filter.enabled }),
    };
  }
  if (filter.enabled !== undefined) {
    return { index: JOBS_TABLE.indexes.byEnabled, partition: byEnabled(filter.enabled) };
  }
  return { index: JOBS_TABLE.indexes.all, partition: ALL_JOBS };
}

/** Rebuilds the DynamoDB start key from a cursor, accepting only the shape this service issues. */
function startKeyFrom(cursor: string, index: IndexSpec, partition: string): Record<string, unknown> {
  const match = decodeCursor(cursor, SORT_KEY_PATTERN);
  return { ...keys.job(match[1] as string), [index.partitionKey]: partition, [index.sortKey]: match[0] };
}

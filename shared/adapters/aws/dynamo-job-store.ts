import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { BadRequestError } from '../../domain/errors.js';
import type { Job, JobListFilter } from '../../domain/job.js';
import type { JobPage, JobStore, VersionedJob } from '../../ports.js';
import { JOBS_TABLE } from './jobs-table.js';

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

const JOB_SK = 'JOB';
const jobPk = (id: string) => `JOB#${id}`;
const ALL_JOBS = 'JOBS';
const byTrigger = (trigger: string) => `JOBS#TRIGGER#${trigger}`;
const byEnabled = (enabled: boolean) => `JOBS#ENABLED#${enabled}`;
const listSortKey = (job: Job) => `${job.created_at}#${job.id}`;
const MAX_FILTERED_READ = 200;
const SORT_KEY_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(job_[0-9a-f-]{36})$/;

function toItem(job: Job, version: number): JobItem {
  const sortKey = listSortKey(job);
  return {
    pk: jobPk(job.id),
    sk: JOB_SK,
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
  ) {}

  async create(job: Job): Promise<VersionedJob> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: toItem(job, 1),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { job, version: 1 };
  }

  async get(id: string): Promise<VersionedJob | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: jobPk(id), sk: JOB_SK }, ConsistentRead: true }),
    );
    return result.Item ? fromItem(result.Item) : null;
  }

  async replace(job: Job, expectedVersion: number): Promise<VersionedJob | null> {
    const version = expectedVersion + 1;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(job, version),
          // attribute_exists too: a job deleted meanwhile must stay deleted.
          ConditionExpression: 'attribute_exists(pk) AND version = :expected',
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
      return { job, version };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: jobPk(id), sk: JOB_SK },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async list(filter: JobListFilter): Promise<JobPage> {
    const { index, partition, residualEnabled } = chooseIndex(filter);
    const startKey = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, index, partition);
    // One extra item tells whether another page exists, so the last page never carries a cursor.
    const wanted = filter.limit + 1;
    const items: Record<string, unknown>[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined = startKey;
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':pk': partition },
        ScanIndexForward: false,
        // With a residual filter some evaluated items are dropped; reading ahead saves round trips, and the
        // cursor comes from the last item returned, so over-reading loses nothing.
        Limit:
          residualEnabled === undefined ? wanted - items.length : Math.min(MAX_FILTERED_READ, wanted * 2),
        ExclusiveStartKey: exclusiveStartKey,
      };
      if (residualEnabled !== undefined) {
        input.FilterExpression = 'enabled = :enabled';
        input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ':enabled': residualEnabled };
      }
      const page = await this.client.send(new QueryCommand(input));
      items.push(...(page.Items ?? []));
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (items.length < wanted && exclusiveStartKey !== undefined);

    const jobs = items.slice(0, filter.limit).map((item) => fromItem(item).job);
    const last = jobs.at(-1);
    const nextCursor = items.length > filter.limit && last ? encodeCursor(listSortKey(last)) : null;
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

function encodeCursor(sortKey: string): string {
  return Buffer.from(JSON.stringify({ after: sortKey }), 'utf8').toString('base64url');
}

/** Rebuilds the DynamoDB start key from a cursor, accepting only the shape this service issues. */
function decodeCursor(cursor: string, index: IndexSpec, partition: string): Record<string, unknown> {
  let sortKey: unknown;
  try {
    sortKey = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    sortKey = undefined;
  }
  const match = typeof sortKey === 'string' ? SORT_KEY_PATTERN.exec(sortKey) : null;
  if (!match) {
    throw new BadRequestError(
      'cursor is not a cursor this service issued; pass next_cursor as returned.',
      'invalid_cursor',
      [{ path: 'cursor', message: 'is not a cursor this service issued', code: 'invalid_cursor' }],
    );
  }
  return {
    pk: jobPk(match[1] as string),
    sk: JOB_SK,
    [index.partitionKey]: partition,
    [index.sortKey]: sortKey,
  };
}

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Execution, ExecutionStatus } from '../../domain/execution.js';
import type { ExecutionPage, RecentExecutionPage, RecentExecutionQuery } from '../../ports.js';
import { BoundedReader, type ReadCeiling } from './bounded-query.js';
import { decodePosition, encodeCursor } from './cursor.js';
import { A, executionKey, fromItem, historyPartition, SHARDS } from './execution-item.js';
import { JOBS_TABLE } from './jobs-table.js';

export const EXECUTION_ID_PATTERN = /^(exec_[0-9a-z]{9}[0-9a-f]{20})$/;

/** Execution bytes per page, well under the 6 MB a Lambda response may hold. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;
/**
 * Most a cursor may still have to skip. Offsets are capped, but a client may add one to each cursor it
 * follows; each request still reads no more than its ceiling.
 */
const MAX_CURSOR_SKIP = 1_000_000;
/** BatchGetItem's limit. */
const BATCH_GET_KEYS = 100;
/**
 * Runs newer than this are counted on every request but not written into the count snapshot: the history
 * index is eventually consistent, so a run this recent might not be in it yet, and a snapshot that moved
 * past it would never count it.
 */
const COUNT_SETTLE_MS = 60_000;
/** Most index pages one request counts; the snapshot keeps the progress for the next request. */
const MAX_COUNT_PAGES = 4;
/** History keys read at a time when one job's runs are filtered by status (one BatchGetItem of statuses). */
const STATUS_CHUNK = 100;

const HISTORY = JOBS_TABLE.indexes.history;
const FAILURES = JOBS_TABLE.indexes.failures;

/** The first execution-id prefix at or after an instant (ids start with the base-36 creation time). */
export function executionIdAt(at: Date): string {
  return `exec_${at.getTime().toString(36).padStart(9, '0')}`;
}

const countKey = (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'RUN_COUNT' });

/**
 * Reading runs back: a job's history through its keys-only index (`gsi4`: skipping an offset reads keys
 * only, whole items are read for the page alone), the runs of every job newest first (merging the 16 run
 * partitions), and the total count of a job's runs, kept as a snapshot that each read brings up to date.
 */
export class ExecutionHistory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly readCeiling: ReadCeiling,
  ) {}

  async list(
    jobId: string,
    options: { limit: number; offset: number; cursor?: string },
  ): Promise<ExecutionPage> {
    let after: string | undefined;
    let skip = options.offset;
    if (options.cursor !== undefined) {
      const position = decodePosition(options.cursor, EXECUTION_ID_PATTERN, MAX_CURSOR_SKIP);
      after = position.after[1] as string;
      skip += position.skip;
    }
    const [page, totalCount] = await Promise.all([
      this.readPage(jobId, after, skip, options.limit),
      this.count(jobId),
    ]);
    return { ...page, totalCount };
  }

  private async readPage(
    jobId: string,
    after: string | undefined,
    skip: number,
    limit: number,
  ): Promise<Omit<ExecutionPage, 'totalCount'>> {
    const reader = new BoundedReader(this.client, this.readCeiling);
    const history: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: HISTORY.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': HISTORY.partitionKey },
      ExpressionAttributeValues: { ':pk': historyPartition(jobId) },
      ScanIndexForward: false,
    };
    const startAfter = (id: string | undefined) =>
      id === undefined ? {} : { ExclusiveStartKey: historyIndexKey(jobId, id) };
    let last = after;
    if (skip > 0) {
      const skipped = await reader.read({ ...history, ...startAfter(last) }, skip);
      if (skipped.items.length > 0) last = String(skipped.items.at(-1)?.[A.historySk]);
      if (skipped.items.length < skip) {
        if (skipped.complete) return { executions: [], nextCursor: null };
        // The ceiling was reached while skipping: continue from here, with the rest still to skip.
        return {
          executions: [],
          nextCursor: last === undefined ? null : encodeCursor(last, skip - skipped.items.length),
        };
      }
    }
    // One key more than the page tells whether another page exists.
    const read = await reader.read({ ...history, ...startAfter(last) }, limit + 1);
    const ids = read.items.map((item) => String(item[A.historySk]));
    const items = await this.getItems(ids.slice(0, limit));
    const executions: Execution[] = [];
    let pageBytes = 0;
    for (const id of ids.slice(0, limit)) {
      const item = items.get(id);
      if (!item) continue; // Expired between the index read and the item read.
      pageBytes += itemBytes(item);
      if (executions.length > 0 && pageBytes > MAX_PAGE_BYTES) break;
      executions.push(fromItem(item).execution);
    }
    const lastReturned = executions.at(-1)?.execution_id ?? last;
    const more = ids.length > executions.length || !read.complete;
    return {
      executions,
      nextCursor: more && lastReturned !== undefined ? encodeCursor(lastReturned) : null,
    };
  }

  /**
   * Runs of every job, newest first, optionally only in some statuses: a merge of the 16 run partitions
   * (each sorted by id, which sorts by creation time), or of the 16 partitions of the failures index
   * when only failed or timed-out runs are asked for. Bounded like every list: a request that reaches
   * its ceiling answers what it has with a cursor.
   */
  async listRecent(options: RecentExecutionQuery): Promise<RecentExecutionPage> {
    const after =
      options.cursor === undefined
        ? undefined
        : (decodePosition(options.cursor, EXECUTION_ID_PATTERN, 0).after[1] as string);
    const statuses = options.statuses && options.statuses.length > 0 ? options.statuses : undefined;
    if (options.jobId !== undefined) {
      return statuses === undefined
        ? this.readPage(options.jobId, after, 0, options.limit)
        : this.readJobPageInStatuses(options.jobId, after, statuses, options.limit);
    }
    const failuresOnly = statuses?.every((status) => status === 'failed' || status === 'timed_out') ?? false;
    const reader = new BoundedReader(this.client, this.readCeiling);
    const perShard = Math.ceil((options.limit + 1) / SHARDS) + 2;
    const sources = Array.from({ length: SHARDS }, (_unused, index) => {
      const shard = index.toString(16);
      return failuresOnly
        ? new ShardCursor(
            reader,
            failuresQuery(this.tableName, shard),
            perShard,
            after === undefined ? undefined : failuresIndexKey(after, shard),
          )
        : new ShardCursor(
            reader,
            runsQuery(this.tableName, shard, statuses),
            perShard,
            after === undefined ? undefined : runKey(after, shard),
          );
    });
    const ids: string[] = [];
    const fetched = new Map<string, Record<string, unknown>>();
    let exhausted = true;
    while (ids.length < options.limit + 1) {
      await Promise.all(sources.map((source) => source.fill()));
      if (sources.some((source) => source.starved)) {
        // A partition could not be read on within the ceiling: nothing older can be answered in order.
        exhausted = false;
        break;
      }
      const candidates = sources.filter((source) => source.head !== undefined);
      if (candidates.length === 0) break;
      const newest = candidates.reduce((best, source) =>
        (source.head as string) > (best.head as string) ? source : best,
      );
      const { id, item } = newest.take();
      ids.push(id);
      if (item) fetched.set(id, item);
    }
    const page = ids.slice(0, options.limit);
    const missing = page.filter((id) => !fetched.has(id));
    for (const [id, item] of await this.getItems(missing)) fetched.set(id, item);
    const executions = page
      .map((id) => fetched.get(id))
      .filter((item): item is Record<string, unknown> => item !== undefined)
      .map((item) => fromItem(item).execution)
      .filter((execution) => statuses === undefined || statuses.includes(execution.status));
    const more = ids.length > options.limit || !exhausted;
    const last = page.at(-1);
    return { executions, nextCursor: more && last !== undefined ? encodeCursor(last) : null };
  }

  /**
   * One job's runs in some statuses, newest first: its history index (keys only) read a chunk at a
   * time, the status of each key read by BatchGetItem with a projection, the whole items for the page
   * alone. Bounded by the read ceiling like every list; a request that reaches it answers the runs it
   * found with a cursor after the last key it looked at.
   */
  private async readJobPageInStatuses(
    jobId: string,
    after: string | undefined,
    statuses: readonly ExecutionStatus[],
    limit: number,
  ): Promise<RecentExecutionPage> {
    const reader = new BoundedReader(this.client, this.readCeiling);
    const matched: string[] = [];
    let examined = after;
    let complete = false;
    while (matched.length <= limit && !complete && !reader.spent) {
      const read = await reader.read(
        {
          TableName: this.tableName,
          IndexName: HISTORY.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': HISTORY.partitionKey },
          ExpressionAttributeValues: { ':pk': historyPartition(jobId) },
          ScanIndexForward: false,
          ...(examined !== undefined && { ExclusiveStartKey: historyIndexKey(jobId, examined) }),
        },
        STATUS_CHUNK,
        STATUS_CHUNK,
      );
      complete = read.complete;
      const ids = read.items.map((item) => String(item[A.historySk]));
      const found = await this.getItems(ids, { projection: ['sk', A.status] });
      for (const id of ids) {
        examined = id;
        const status = found.get(id)?.[A.status] as ExecutionStatus | undefined;
        if (status !== undefined && statuses.includes(status)) matched.push(id);
        if (matched.length > limit) break;
      }
      if (read.items.length === 0) break;
    }
    const page = matched.slice(0, limit);
    const items = await this.getItems(page);
    const executions: Execution[] = [];
    let pageBytes = 0;
    let cut = false;
    for (const id of page) {
      const item = items.get(id);
      if (!item) continue; // Expired between the two reads.
      pageBytes += itemBytes(item);
      if (executions.length > 0 && pageBytes > MAX_PAGE_BYTES) {
        cut = true;
        break;
      }
      const execution = fromItem(item).execution;
      // A run may have moved on between the two reads (queued → running): the page shows what it asked for.
      if (statuses.includes(execution.status)) executions.push(execution);
    }
    const more = cut || matched.length > limit || !complete;
    const last = cut ? executions.at(-1)?.execution_id : matched.length > limit ? page.at(-1) : examined;
    return { executions, nextCursor: more && last !== undefined ? encodeCursor(last) : null };
  }

  /**
   * The number of runs the job has recorded (including runs retention has removed since): a snapshot
   * (`RUN_COUNT`) of the runs counted up to an id, plus the index entries after it, counted keys only.
   * Entries old enough to be settled in the index are added to the snapshot, so each run is counted
   * from the index once, by whichever read first sees it.
   */
  async count(jobId: string): Promise<number> {
    const snapshot = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: countKey(jobId), ConsistentRead: true }),
    );
    const counted = Number(snapshot.Item?.count ?? 0);
    const through = typeof snapshot.Item?.through === 'string' ? snapshot.Item.through : '';
    const settledBefore = `${executionIdAt(new Date(Date.now() - COUNT_SETTLE_MS))}`;
    const settled = await this.countIndex(jobId, through, settledBefore);
    const recent = settled.complete ? await this.countIndex(jobId, settledBefore, undefined) : { count: 0 };
    if (settled.count > 0) {
      await this.advanceSnapshot(jobId, snapshot.Item === undefined ? null : through, {
        count: counted + settled.count,
        through: settled.complete ? settledBefore : settled.through,
      });
    }
    return counted + settled.count + recent.count;
  }

  /** Counts index entries with ids in (`from`, `to`) — `to` open when undefined — a few pages at most. */
  private async countIndex(
    jobId: string,
    from: string,
    to: string | undefined,
  ): Promise<{ count: number; complete: boolean; through: string }> {
    let count = 0;
    let through = from;
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_COUNT_PAGES; page++) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: HISTORY.name,
          KeyConditionExpression:
            to === undefined ? '#pk = :pk AND #sk > :from' : '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': HISTORY.partitionKey, '#sk': HISTORY.sortKey },
          ExpressionAttributeValues: {
            ':pk': historyPartition(jobId),
            ':from': `${from}\u0000`,
            ...(to !== undefined && { ':to': to }),
          },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += result.Count ?? 0;
      startKey = result.LastEvaluatedKey;
      if (startKey === undefined) return { count, complete: true, through: to ?? through };
      through = String(startKey[HISTORY.sortKey]);
    }
    return { count, complete: false, through };
  }

  private async advanceSnapshot(
    jobId: string,
    expectedThrough: string | null,
    next: { count: number; through: string },
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: countKey(jobId),
          UpdateExpression: 'SET #count = :count, #through = :through',
          ConditionExpression: expectedThrough === null ? 'attribute_not_exists(pk)' : '#through = :expected',
          ExpressionAttributeNames: { '#count': 'count', '#through': 'through' },
          ExpressionAttributeValues: {
            ':count': next.count,
            ':through': next.through,
            ...(expectedThrough !== null && { ':expected': expectedThrough }),
          },
        }),
      );
    } catch (error) {
      // Another read advanced it first: its count includes ours.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * The items of `ids`, read by key (strongly consistent), in batches; only the attributes in
   * `projection` when it is given (which must include `sk`).
   */
  async getItems(
    ids: readonly string[],
    options: { projection?: readonly string[] } = {},
  ): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    const projection =
      options.projection === undefined
        ? {}
        : {
            ProjectionExpression: options.projection.map((_name, index) => `#p${index}`).join(', '),
            ExpressionAttributeNames: Object.fromEntries(
              options.projection.map((name, index) => [`#p${index}`, name]),
            ),
          };
    for (let start = 0; start < ids.length; start += BATCH_GET_KEYS) {
      let keys = ids.slice(start, start + BATCH_GET_KEYS).map(executionKey);
      for (let round = 0; keys.length > 0 && round < 8; round++) {
        const result = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true, ...projection } },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          found.set(String(item.sk).slice('EXEC#'.length), item);
        }
        keys = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys;
        if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** round));
      }
    }
    return found;
  }
}

function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const value of Object.values(item)) {
    if (typeof value === 'string') bytes += value.length;
    else if (value instanceof Uint8Array) bytes += value.byteLength;
    else bytes += 8;
  }
  return bytes;
}

function historyIndexKey(jobId: string, executionId: string): Record<string, unknown> {
  return {
    ...executionKey(executionId),
    [HISTORY.partitionKey]: historyPartition(jobId),
    [HISTORY.sortKey]: executionId,
  };
}

/** Where a partition of the failures index continues after `executionId` (which may live in another). */
function failuresIndexKey(executionId: string, shard: string): Record<string, unknown> {
  return {
    ...executionKey(executionId),
    [FAILURES.partitionKey]: `FAILED#${shard}`,
    [FAILURES.sortKey]: executionId,
  };
}

/** Where run partition `shard` continues after `executionId` (which may live in another). */
function runKey(executionId: string, shard: string): Record<string, unknown> {
  return { pk: `RUN#${shard}`, sk: `EXEC#${executionId}` };
}

function runsQuery(
  tableName: string,
  shard: string,
  statuses: readonly ExecutionStatus[] | undefined,
): QueryCommandInput {
  const statusValues = Object.fromEntries((statuses ?? []).map((status, index) => [`:s${index}`, status]));
  return {
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': `RUN#${shard}`, ':prefix': 'EXEC#', ...statusValues },
    ...(statuses !== undefined && {
      FilterExpression: `#st IN (${Object.keys(statusValues).join(', ')})`,
      ExpressionAttributeNames: { '#st': A.status },
    }),
    ScanIndexForward: false,
  };
}

function failuresQuery(tableName: string, shard: string): QueryCommandInput {
  return {
    TableName: tableName,
    IndexName: FAILURES.name,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': FAILURES.partitionKey },
    ExpressionAttributeValues: { ':pk': `FAILED#${shard}` },
    ScanIndexForward: false,
  };
}

/** One partition's runs, newest first, read a page at a time as the merge needs them. */
class ShardCursor {
  private buffer: { id: string; item: Record<string, unknown> | undefined }[] = [];
  done = false;
  /** The reader's ceiling stopped this partition before its end. */
  starved = false;

  constructor(
    private readonly reader: BoundedReader,
    private readonly query: QueryCommandInput,
    private readonly pageSize: number,
    private startKey: Record<string, unknown> | undefined,
  ) {}

  get head(): string | undefined {
    return this.buffer[0]?.id;
  }

  async fill(): Promise<void> {
    if (this.buffer.length > 0 || this.done || this.starved) return;
    if (this.reader.spent) {
      this.starved = true;
      return;
    }
    const read = await this.reader.read(
      { ...this.query, ExclusiveStartKey: this.startKey },
      1,
      this.pageSize,
    );
    // An index holds keys only: the merge reads the items of the page it keeps.
    const keysOnly = this.query.IndexName !== undefined;
    for (const item of read.items) {
      this.buffer.push({ id: String(item.sk).slice('EXEC#'.length), item: keysOnly ? undefined : item });
    }
    this.startKey = read.lastEvaluatedKey;
    if (read.complete) this.done = true;
    else if (read.items.length === 0) this.starved = true;
  }

  take(): { id: string; item: Record<string, unknown> | undefined } {
    return this.buffer.shift() as { id: string; item: Record<string, unknown> | undefined };
  }
}

import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../../domain/errors.js';
import { type Execution, isTerminal } from '../../domain/execution.js';
import type {
  DueExecution,
  ExecutionChange,
  ExecutionPage,
  ExecutionStore,
  StartRunOutcome,
  StartRunRequest,
  StoredExecution,
} from '../../ports.js';
import { BoundedReader, DEFAULT_READ_CEILING, type ReadCeiling } from './bounded-query.js';
import { conflictPause } from './conflicts.js';
import { decodePosition, encodeCursor } from './cursor.js';
import { setAll } from './expressions.js';
import { JOBS_TABLE } from './jobs-table.js';
import { keys, SWEEP_PARTITION } from './keys.js';

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

const EXECUTION_ID_PATTERN = /^(exec_[0-9a-z]{9}[0-9a-f]{20})$/;
const MAX_START_ATTEMPTS = 6;

/** How many times a transition re-reads after losing a race before giving up. */
const MAX_TRANSITION_ATTEMPTS = 5;
const SWEEP_INDEX = JOBS_TABLE.indexes.sweep;

/** Execution document bytes per history page, well under the 6 MB a Lambda response may hold. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;
/**
 * Most a cursor may still have to skip. Offsets are capped, but a client may add one to each cursor it
 * follows; each request still reads no more than its ceiling.
 */
const MAX_CURSOR_SKIP = 1_000_000;

const executionIdOf = (item: Record<string, unknown> | undefined) => String(item?.sk).slice('EXEC#'.length);

const sweepKey = (at: string, jobId: string, executionId: string) => `${at}#${jobId}#${executionId}`;

/**
 * Executions live in their job's partition (`JOB#<id>`, `EXEC#<time-ordered id>`), so a job's history
 * is one Query, newest first. A non-terminal execution also sits in the sparse `SWEEP` partition of
 * gsi4, keyed by when the sweeper must look at it; terminal writes remove it from there.
 */
export class DynamoExecutionStore implements ExecutionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** How much one history request may read. @default DEFAULT_READ_CEILING */
    private readonly readCeiling: ReadCeiling = DEFAULT_READ_CEILING,
  ) {}

  async start(request: StartRunRequest): Promise<StartRunOutcome> {
    const { execution } = request;
    for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
      const items = this.startItems(request, execution);
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items.list }));
        return { kind: 'started', execution };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons.some((reason) => reason.Code === 'TransactionConflict')) {
          // Another transaction on the same job (its counter) got in first: DynamoDB asks us to retry.
          await conflictPause(attempt);
          continue;
        }
        const failed = (index: number | undefined) =>
          index !== undefined && reasons[index]?.Code === 'ConditionalCheckFailed';
        if (failed(items.jobIndex)) throw new NotFoundError(`No job with id "${execution.job_id}".`);
        if (failed(items.dedupeIndex)) {
          const first = await this.findByDedupeKey(execution.job_id, request.dedupeKey as string);
          if (first) return { kind: 'duplicate', execution: first };
          continue; // The marker expired between our write and read: try again.
        }
        if (failed(items.lockIndex)) {
          if (await this.releaseStaleLock(execution.job_id)) continue;
          const skipped: Execution = { ...execution, status: 'skipped', finished_at: execution.created_at };
          const skippedItems = this.startItems({ ...request, exclusive: false }, skipped);
          try {
            await this.client.send(new TransactWriteCommand({ TransactItems: skippedItems.list }));
          } catch (skipError) {
            // A concurrent run of the same job got in first: decide afresh.
            if (!(skipError instanceof TransactionCanceledException)) throw skipError;
            await conflictPause(attempt);
            continue;
          }
          return { kind: 'skipped', execution: skipped };
        }
        throw error;
      }
    }
    throw new Error(`Could not start a run of job ${execution.job_id} after repeated races`);
  }

  async get(jobId: string, executionId: string): Promise<StoredExecution | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.execution(jobId, executionId),
        ConsistentRead: true,
      }),
    );
    return result.Item ? fromItem(result.Item) : null;
  }

  /**
   * One page of a job's history. The `offset` (plus any skip a cursor carries) is skipped reading keys
   * only, so whole items are read only for the page returned; every read counts against the ceiling. A
   * request that reaches it answers the runs it has (possibly none) and a cursor that continues where it
   * stopped, still skipping what is left of the offset. A page also stops before `MAX_PAGE_BYTES`.
   */
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
    const countRead = this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.job(jobId),
        ProjectionExpression: 'execution_count',
        ConsistentRead: true,
      }),
    );
    const page = await this.readPage(jobId, after, skip, options.limit);
    return { ...page, totalCount: Number((await countRead).Item?.execution_count ?? 0) };
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
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.job(jobId).pk, ':prefix': 'EXEC#' },
      ScanIndexForward: false,
    };
    let last = after;
    if (skip > 0) {
      const skipped = await reader.read(
        {
          ...history,
          ProjectionExpression: 'sk',
          ...(last !== undefined && { ExclusiveStartKey: keys.execution(jobId, last) }),
        },
        skip,
      );
      last = skipped.items.length > 0 ? executionIdOf(skipped.items.at(-1)) : last;
      if (skipped.complete) return { executions: [], nextCursor: null };
      if (skipped.items.length < skip) {
        // The ceiling was reached while skipping: continue from here, with the rest still to skip.
        return {
          executions: [],
          nextCursor: last === undefined ? null : encodeCursor(last, skip - skipped.items.length),
        };
      }
    }
    // One item more than the page tells whether another page exists.
    const read = await reader.read(
      { ...history, ...(last !== undefined && { ExclusiveStartKey: keys.execution(jobId, last) }) },
      limit + 1,
    );
    const executions: Execution[] = [];
    let pageBytes = 0;
    for (const item of read.items.slice(0, limit)) {
      pageBytes += Buffer.byteLength(String(item.doc), 'utf8');
      if (executions.length > 0 && pageBytes > MAX_PAGE_BYTES) break;
      executions.push(fromItem(item).execution);
    }
    const lastReturned = executions.at(-1)?.execution_id ?? last;
    const more = read.items.length > executions.length || !read.complete;
    return { executions, nextCursor: more && lastReturned !== undefined ? encodeCursor(lastReturned) : null };
  }

  async transition(
    jobId: string,
    executionId: string,
    condition: { from: readonly Execution['status'][]; attempt?: number; leaseExpiredBefore?: string },
    change: ExecutionChange,
  ): Promise<Execution | null> {
    for (let round = 1; round <= MAX_TRANSITION_ATTEMPTS; round++) {
      const stored = await this.getRaw(jobId, executionId);
      if (!stored) return null;
      const current = fromItem(stored);
      const { execution } = current;
      if (!condition.from.includes(execution.status)) return null;
      if (condition.attempt !== undefined && execution.attempt !== condition.attempt) return null;
      if (
        condition.leaseExpiredBefore !== undefined &&
        execution.status === 'running' &&
        current.leaseUntil !== null &&
        current.leaseUntil >= condition.leaseExpiredBefore
      ) {
        return null;
      }
      const { leaseUntil, sweepAt, callbackTokenHash, ...fields } = change;
      const next: Execution = { ...execution, ...fields };
      const terminal = isTerminal(next.status);
      const set: Record<string, unknown> = {
        doc: JSON.stringify(next),
        status: next.status,
        version: Number(stored.version) + 1,
      };
      if (leaseUntil !== undefined) set.lease_until = leaseUntil;
      if (callbackTokenHash !== undefined) set.callback_token_hash = callbackTokenHash;
      if (!terminal && sweepAt !== undefined) set.gsi4sk = sweepKey(sweepAt, jobId, executionId);
      const update = setAll(set);
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.execution(jobId, executionId),
            ...update,
            UpdateExpression: `${update.UpdateExpression}${terminal ? ' REMOVE gsi4pk, gsi4sk' : ''}`,
            ConditionExpression: 'version = :version',
            ExpressionAttributeValues: {
              ...update.ExpressionAttributeValues,
              ':version': Number(stored.version),
            },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) continue;
        throw error;
      }
      if (terminal && current.exclusive) await this.releaseLock(jobId, executionId);
      return next;
    }
    return null;
  }

  async listDue(now: Date, limit: number): Promise<DueExecution[]> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: SWEEP_INDEX.name,
        KeyConditionExpression: '#pk = :pk AND #sk < :upper',
        ExpressionAttributeNames: { '#pk': SWEEP_INDEX.partitionKey, '#sk': SWEEP_INDEX.sortKey },
        ExpressionAttributeValues: { ':pk': SWEEP_PARTITION, ':upper': `${now.toISOString()}~` },
        Limit: limit,
      }),
    );
    // Keys only: the ids come from the base table key, `JOB#<job id>` / `EXEC#<execution id>`.
    return (page.Items ?? []).map((item) => ({
      jobId: String(item.pk).slice('JOB#'.length),
      executionId: String(item.sk).slice('EXEC#'.length),
    }));
  }

  private startItems(request: StartRunRequest, execution: Execution) {
    const list: TransactItems = [];
    let dedupeIndex: number | undefined;
    let lockIndex: number | undefined;
    const jobId = execution.job_id;
    if (request.dedupeKey !== undefined) {
      dedupeIndex = list.length;
      list.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...keys.dedupe(jobId, request.dedupeKey),
            execution_id: execution.execution_id,
            expires_at: request.expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    if (request.exclusive) {
      lockIndex = list.length;
      list.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...keys.runLock(jobId),
            execution_id: execution.execution_id,
            expires_at: request.expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    const terminal = isTerminal(execution.status);
    list.push({
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.execution(jobId, execution.execution_id),
          doc: JSON.stringify(execution),
          status: execution.status,
          version: 1,
          lease_until: null,
          // Set by the worker with each attempt's token: no target can call back before it is invoked.
          callback_token_hash: '',
          exclusive: request.exclusive,
          expires_at: request.expiresAt,
          ...(!terminal && {
            gsi4pk: SWEEP_PARTITION,
            gsi4sk: sweepKey(request.sweepAt, jobId, execution.execution_id),
          }),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
    const jobIndex = list.length;
    list.push({
      Update: {
        TableName: this.tableName,
        Key: keys.job(jobId),
        UpdateExpression: 'ADD execution_count :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':one': 1 },
      },
    });
    return { list, dedupeIndex, lockIndex, jobIndex };
  }

  /** Two GetItems (the marker, then its execution): the webhook function may read items but not query. */
  async findByDedupeKey(jobId: string, dedupeKey: string): Promise<Execution | null> {
    const marker = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.dedupe(jobId, dedupeKey), ConsistentRead: true }),
    );
    const executionId = marker.Item?.execution_id;
    if (typeof executionId !== 'string') return null;
    return (await this.get(jobId, executionId))?.execution ?? null;
  }

  /**
   * The lock names a run that has ended (its release was lost, e.g. the process stopped between the
   * two writes): remove it so the next run can take it. True if it was stale and is gone.
   */
  private async releaseStaleLock(jobId: string): Promise<boolean> {
    const lock = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.runLock(jobId), ConsistentRead: true }),
    );
    const holder = lock.Item?.execution_id;
    if (typeof holder !== 'string') return true;
    const execution = (await this.get(jobId, holder))?.execution;
    if (execution && !isTerminal(execution.status)) return false;
    await this.releaseLock(jobId, holder);
    return true;
  }

  private async releaseLock(jobId: string, executionId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.runLock(jobId),
          ConditionExpression: 'execution_id = :id',
          ExpressionAttributeValues: { ':id': executionId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async getRaw(jobId: string, executionId: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.execution(jobId, executionId),
        ConsistentRead: true,
      }),
    );
    return result.Item;
  }
}

function fromItem(item: Record<string, unknown>): StoredExecution {
  return {
    execution: JSON.parse(String(item.doc)) as Execution,
    callbackTokenHash: String(item.callback_token_hash ?? ''),
    leaseUntil: typeof item.lease_until === 'string' ? item.lease_until : null,
    exclusive: item.exclusive === true,
  };
}

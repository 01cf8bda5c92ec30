import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type Execution, isTerminal } from '../../domain/execution.js';
import type {
  ExecutionChange,
  ExecutionPage,
  ExecutionStore,
  RecentExecutionPage,
  StartRunOutcome,
  StartRunRequest,
  StoredExecution,
  TransitionResult,
} from '../../ports.js';
import { batchedItems } from './batched-items.js';
import { DEFAULT_READ_CEILING, type ReadCeiling } from './bounded-query.js';
import { ExecutionHistory, executionIdAt } from './execution-history.js';
import {
  A,
  changeExpression,
  docOf,
  executionKey,
  fromItem,
  historyPartition,
  toItem,
  versionOf,
} from './execution-item.js';
import { LegacyExecutions } from './legacy-executions.js';
import { afterUpdate, RecentExecutionItems } from './recent-execution-items.js';

const MAX_START_ROUNDS = 6;
/** How long after its lock was taken a `skip` run not yet written still holds it (see `takeLock`). */
const LOCK_WRITE_GRACE_MS = 60_000;
/** Pages one scan for unsent runs may read per partition before it stops and reports how far it got. */
const MAX_SCAN_PAGES = 20;

const dedupeKeyOf = (jobId: string, key: string) => ({ pk: `DEDUPE#${jobId}#${key}`, sk: 'DEDUPE' });
const lockKey = (jobId: string) => ({ pk: `LOCK#${jobId}`, sk: 'LOCK' });
const SWEEP_CHECKPOINT = { pk: 'SWEEP_CHECKPOINT', sk: 'SWEEP_CHECKPOINT' };

/** One conditional update of an execution item, before the store adds its update count. */
interface ItemUpdate {
  /** SET clauses, with their placeholders in `names` and `values`. */
  set: string[];
  /** Names of the attributes it removes. */
  remove: readonly string[];
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * Executions as one item each, in 16 partitions shared by every job (`RUN#<shard>`, see
 * `execution-item.ts`), so that no partition key takes more than a fraction of a run's writes. A run is
 * three writes: the put that creates it `queued` (conditional when its id can meet another), the claim,
 * the end; each is one write unit for a small run, and none is a transaction. Side items: a dedupe marker per key
 * (`DEDUPE#<job>#<key>`, written before the run), the overlap lock of a `skip` job (`LOCK#<job>`,
 * taken over from a finished holder, never released), the history count snapshot (`JOB#<job>` /
 * `RUN_COUNT`) and the sweeper's scan checkpoint.
 */
export class DynamoExecutionStore implements ExecutionStore {
  private readonly history: ExecutionHistory;
  private readonly legacy: LegacyExecutions;
  private readonly recent = new RecentExecutionItems();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** How much one list request may read. @default DEFAULT_READ_CEILING */
    readCeiling: ReadCeiling = DEFAULT_READ_CEILING,
  ) {
    this.history = new ExecutionHistory(client, tableName, readCeiling);
    this.legacy = new LegacyExecutions(client, tableName);
  }

  async start(request: StartRunRequest): Promise<StartRunOutcome> {
    let { execution } = request;
    if (request.dedupeKey !== undefined && !request.idFromKey) {
      const holder = await this.claimDedupeKey(execution, request.dedupeKey, request.expiresAt);
      if (holder !== execution.execution_id) {
        const first = await this.get(execution.job_id, holder);
        if (first) return { kind: 'duplicate', execution: first.execution };
        // Its writer stopped between the marker and the run: this request writes the run, under that id.
        execution = withId(execution, holder);
      }
    } else if (request.dedupeKey !== undefined) {
      // The id is the dedupe, but the previous version may have recorded this fire under a marker.
      const due = new Date(execution.scheduled_at ?? execution.created_at);
      const holder = await this.legacy.keyHolder(execution.job_id, request.dedupeKey, due);
      const first = holder === null ? null : await this.get(execution.job_id, holder);
      if (first) return { kind: 'duplicate', execution: first.execution };
    }
    const itemOf = (written: Execution, exclusive: boolean) =>
      toItem(written, {
        expiresAt: request.expiresAt,
        exclusive,
        ...(request.configOverride !== undefined && { configOverride: request.configOverride }),
      });
    if (request.dedupeKey === undefined && !request.exclusive) {
      // A fresh id (its creation time and 80 random bits) meets no other run, so there is nothing to put
      // it on condition of: the put goes as one BatchWriteItem with the runs started meanwhile.
      const item = itemOf(execution, false);
      await batchedItems(this.client, this.tableName).put({
        ...item,
        ...executionKey(execution.execution_id),
      });
      this.recent.remember(execution.execution_id, item);
      return { kind: 'started', execution };
    }
    for (let round = 1; round <= MAX_START_ROUNDS; round++) {
      const exclusive = request.exclusive && (await this.takeLock(execution));
      const written: Execution =
        request.exclusive && !exclusive
          ? { ...execution, status: 'skipped', finished_at: execution.created_at }
          : execution;
      const item = itemOf(written, exclusive);
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Only a deduplicated run can meet its id twice: another request wrote it first.
        const first = await this.get(execution.job_id, execution.execution_id);
        if (first) return { kind: 'duplicate', execution: first.execution };
        continue;
      }
      this.recent.remember(execution.execution_id, item);
      return { kind: written.status === 'skipped' ? 'skipped' : 'started', execution: written };
    }
    throw new Error(`Could not start a run of job ${execution.job_id} after repeated races`);
  }

  async get(jobId: string, executionId: string): Promise<StoredExecution | null> {
    const item = await batchedItems(this.client, this.tableName).get(executionKey(executionId), {
      consistent: true,
    });
    if (item) {
      if (item[A.historyPk] !== historyPartition(jobId)) return null;
      const stored = fromItem(item, this.recent.doc(executionId));
      this.recent.remember(executionId, item);
      return stored;
    }
    // A run recorded before the upgrade that the migration has not moved yet.
    return this.legacy.get(jobId, executionId);
  }

  async findByDedupeKey(jobId: string, dedupeKey: string): Promise<Execution | null> {
    const marker = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: dedupeKeyOf(jobId, dedupeKey), ConsistentRead: true }),
    );
    const executionId = marker.Item?.execution_id;
    if (typeof executionId !== 'string') return this.legacy.findByDedupeKey(jobId, dedupeKey);
    return (await this.get(jobId, executionId))?.execution ?? null;
  }

  list(jobId: string, options: { limit: number; offset: number; cursor?: string }): Promise<ExecutionPage> {
    return this.history.list(jobId, options);
  }

  listRecent(options: Parameters<ExecutionStore['listRecent']>[0]): Promise<RecentExecutionPage> {
    return this.history.listRecent(options);
  }

  async claim(
    jobId: string,
    executionId: string,
    claim: { attempt: number; now: Date; leaseUntil: string; callbackTokenHash: string },
  ): Promise<TransitionResult> {
    const first = claim.attempt === 1;
    const names: Record<string, string> = {
      '#job': A.historyPk,
      '#st': A.status,
      '#at': A.attempt,
      '#ls': A.leaseUntil,
      '#cb': A.callbackTokenHash,
      ...(first && { '#sa': A.startedAt, '#dl': A.deadlineAt, '#to': A.timeoutMs }),
    };
    const values: Record<string, unknown> = {
      ':job': historyPartition(jobId),
      ':queued': 'queued',
      ':running': 'running',
      ':attempt': claim.attempt,
      ':lease': claim.leaseUntil,
      ':cb': claim.callbackTokenHash,
      ...(first && { ':started': claim.now.toISOString(), ':nowMs': claim.now.getTime() }),
    };
    // Answered the whole item, unless this process wrote or read the run lately (a local runtime's
    // dispatch and worker share the store): then only what it set, as for a transition (see `update`).
    return this.update(
      jobId,
      executionId,
      {
        set: [
          '#st = :running',
          '#ls = :lease',
          '#cb = :cb',
          ...(first ? ['#sa = :started', '#dl = :nowMs + #to'] : []),
        ],
        remove: [],
        condition: '#job = :job AND #st = :queued AND #at = :attempt',
        names,
        values,
      },
      { from: ['queued'], attempt: claim.attempt },
      () => this.claim(jobId, executionId, claim),
    );
  }

  async upgrade(): Promise<boolean> {
    return this.legacy.migrateAll();
  }

  async transition(
    jobId: string,
    executionId: string,
    condition: { from: readonly Execution['status'][]; attempt?: number; leaseExpiredBefore?: string },
    change: ExecutionChange,
  ): Promise<TransitionResult> {
    const doc =
      change.output === undefined || change.output === null ? Buffer.alloc(0) : await this.docOf(executionId);
    const { set, remove } = changeExpression(executionId, change, doc);
    const names: Record<string, string> = { '#job': A.historyPk, '#st': A.status };
    const values: Record<string, unknown> = { ':job': historyPartition(jobId) };
    const clauses: string[] = [];
    Object.entries(set).forEach(([name, value], index) => {
      names[`#s${index}`] = name;
      values[`:s${index}`] = value;
      clauses.push(`#s${index} = :s${index}`);
    });
    const statuses = condition.from.map((status, index) => {
      values[`:from${index}`] = status;
      return `:from${index}`;
    });
    let conditionExpression = `#job = :job AND #st IN (${statuses.join(', ')})`;
    if (condition.attempt !== undefined) {
      names['#at'] = A.attempt;
      values[':attempt'] = condition.attempt;
      conditionExpression += ' AND #at = :attempt';
    }
    if (condition.leaseExpiredBefore !== undefined) {
      names['#ls'] = A.leaseUntil;
      values[':running'] = 'running';
      values[':before'] = condition.leaseExpiredBefore;
      conditionExpression += ' AND (#st <> :running OR attribute_not_exists(#ls) OR #ls < :before)';
    }
    return this.update(
      jobId,
      executionId,
      { set: clauses, remove, condition: conditionExpression, names, values },
      condition,
      () => this.transition(jobId, executionId, condition, change),
    );
  }

  /**
   * One conditional UpdateItem of an execution, answering the item after it, or, when the condition
   * failed, the item as it stood. A run not found in the current layout but recorded before the upgrade
   * is moved into it, and the update is tried once more (`again`).
   *
   * With `known`, the item as this process last saw it (when `expected`, the status and attempt the
   * write's condition requires, holds on it: an item it does not hold on is older than the one the caller
   * expects, and the whole item is asked for rather than a write bound to fail first), DynamoDB answers
   * only the attributes the update set (`UPDATED_NEW`), merged into `known`: a finish is answered its status, times and output, not the
   * whole item with its doc. The merge is right only if nobody wrote the item since `known`: the
   * caller's condition pins status and attempt, not the lease, the target's execution, the token or the
   * error another worker or the API may have written meanwhile. So the write also requires the item's
   * update count to be `known`'s; if another write came between, it fails, and the change is tried again
   * as without `known` (`ALL_NEW`, no count required). Either way the answer is what `ALL_NEW` gives.
   * (A writer of an earlier version of the service adds nothing to the count: during a deploy that
   * overlaps both on one run, such a write would go unseen in this answer, never in the table.)
   */
  private async update(
    jobId: string,
    executionId: string,
    write: ItemUpdate,
    expected: { from: readonly Execution['status'][]; attempt?: number },
    again: () => Promise<TransitionResult>,
    /** Ask for the whole item whatever is remembered (the count has moved since). */
    whole = false,
  ): Promise<TransitionResult> {
    const remembered = whole ? undefined : this.recent.item(executionId);
    const known =
      remembered !== undefined && conditionCanHold(remembered, jobId, expected) ? remembered : undefined;
    const names: Record<string, string> = { ...write.names, '#v': A.version };
    const values: Record<string, unknown> = { ...write.values };
    let condition = write.condition;
    let counted = '#v = if_not_exists(#v, :zero) + :one';
    if (known === undefined) {
      values[':zero'] = 0;
      values[':one'] = 1;
    } else {
      const seen = versionOf(known);
      values[':next'] = seen + 1;
      counted = '#v = :next';
      if (seen === 0) condition += ' AND attribute_not_exists(#v)';
      else {
        values[':seen'] = seen;
        condition += ' AND #v = :seen';
      }
    }
    const removals = write.remove.map((name, index) => {
      names[`#r${index}`] = name;
      return `#r${index}`;
    });
    const expression = `SET ${[...write.set, counted].join(', ')}${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`;
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: executionKey(executionId),
          UpdateExpression: expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: known === undefined ? 'ALL_NEW' : 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const answer = (result.Attributes ?? {}) as Record<string, unknown>;
      const item = known === undefined ? answer : afterUpdate(known, answer, write.remove);
      const { execution } = fromItem(item, this.recent.doc(executionId));
      this.recent.remember(executionId, item);
      return { ok: true, execution };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item === undefined ? undefined : unmarshall(error.Item);
      if (known !== undefined && old !== undefined && versionOf(old) !== versionOf(known)) {
        // Written by another since this process saw it: the condition may well hold on the item as it is.
        return this.update(jobId, executionId, write, expected, again, true);
      }
      if (old && old[A.historyPk] === historyPartition(jobId)) {
        const current = fromItem(old, this.recent.doc(executionId));
        this.recent.remember(executionId, old);
        return { ok: false, current };
      }
      if (!old) {
        this.recent.forget(executionId);
        if (await this.legacy.migrate(jobId, executionId)) return again();
      }
      return { ok: false, current: null };
    }
  }

  async findUnsent(window: { from: Date; to: Date }): Promise<{ executions: Execution[]; scannedTo: Date }> {
    const from = `EXEC#${executionIdAt(window.from)}`;
    const to = `EXEC#${executionIdAt(window.to)}`;
    const executions: Execution[] = [];
    let scannedTo = window.to;
    await Promise.all(
      Array.from({ length: 16 }, async (_unused, index) => {
        let startKey: Record<string, unknown> | undefined;
        for (let page = 0; page < MAX_SCAN_PAGES; page++) {
          const result = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
              FilterExpression: '#st = :queued AND #at = :first',
              ExpressionAttributeNames: { '#st': A.status, '#at': A.attempt },
              ExpressionAttributeValues: {
                ':pk': `RUN#${index.toString(16)}`,
                ':from': from,
                ':to': to,
                ':queued': 'queued',
                ':first': 1,
              },
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of result.Items ?? []) executions.push(fromItem(item).execution);
          startKey = result.LastEvaluatedKey;
          if (startKey === undefined) return;
        }
        // Stopped early: the next sweep starts where this partition got to.
        const reached = decodeTime(String(startKey?.sk ?? ''));
        if (reached !== null && reached < scannedTo) scannedTo = reached;
      }),
    );
    return { executions, scannedTo };
  }

  async sweepCheckpoint(): Promise<Date | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: SWEEP_CHECKPOINT, ConsistentRead: true }),
    );
    const at = result.Item?.at;
    return typeof at === 'string' && Number.isFinite(Date.parse(at)) ? new Date(at) : null;
  }

  async saveSweepCheckpoint(at: Date): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...SWEEP_CHECKPOINT, at: at.toISOString() } }),
    );
  }

  /**
   * Takes the dedupe key for `execution`, or learns which run has it: a marker item written before the
   * run (an expired marker may be taken again). Returns the id of the run the key belongs to.
   */
  private async claimDedupeKey(execution: Execution, dedupeKey: string, expiresAt: number): Promise<string> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...dedupeKeyOf(execution.job_id, dedupeKey),
            execution_id: execution.execution_id,
            expires_at: expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
          ExpressionAttributeValues: { ':now': Math.floor(Date.parse(execution.created_at) / 1000) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const legacy = await this.legacy.findByDedupeKey(execution.job_id, dedupeKey);
      return legacy?.execution_id ?? execution.execution_id;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const holder = error.Item === undefined ? undefined : unmarshall(error.Item).execution_id;
      if (typeof holder !== 'string') throw error;
      return holder;
    }
  }

  /**
   * The overlap lock of a `skip` job: one item naming the run that holds it and when it was taken. Taken
   * when absent, or from a holder that has ended (so nothing has to release it: a run's end is one write,
   * not two). False when the holder is still queued or running — or not written yet: its start takes the
   * lock before it writes the run, so a holder not found is live for `LOCK_WRITE_GRACE_MS` after the lock
   * was taken, and only then taken over (its start stopped in between).
   */
  private async takeLock(execution: Execution): Promise<boolean> {
    for (let round = 1; round <= MAX_START_ROUNDS; round++) {
      const lock = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: lockKey(execution.job_id),
          ConsistentRead: round > 1,
        }),
      );
      const holder = typeof lock.Item?.holder === 'string' ? lock.Item.holder : null;
      if (holder === execution.execution_id) return true;
      if (holder !== null) {
        const held = await this.get(execution.job_id, holder);
        if (held && !isTerminal(held.execution.status)) return false;
        const takenAt = typeof lock.Item?.at === 'string' ? Date.parse(lock.Item.at) : Number.NaN;
        if (!held && Date.parse(execution.created_at) - takenAt < LOCK_WRITE_GRACE_MS) return false;
      }
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...lockKey(execution.job_id), holder: execution.execution_id, at: execution.created_at },
            ConditionExpression: holder === null ? 'attribute_not_exists(pk)' : 'holder = :holder',
            ...(holder !== null && { ExpressionAttributeValues: { ':holder': holder } }),
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // Another start changed the lock since we read it: decide again.
      }
    }
    return false;
  }

  private async docOf(executionId: string): Promise<Buffer> {
    const cached = this.recent.doc(executionId);
    if (cached) return cached;
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: executionKey(executionId),
        ProjectionExpression: 'doc',
        ConsistentRead: true,
      }),
    );
    return result.Item ? docOf(result.Item) : Buffer.alloc(0);
  }
}

/**
 * Whether a transition's condition can hold on `item` (its lease test aside): if not, `item` is not how
 * the run stands when the caller expects to change it.
 */
function conditionCanHold(
  item: Record<string, unknown>,
  jobId: string,
  condition: { from: readonly Execution['status'][]; attempt?: number },
): boolean {
  const attempt = typeof item[A.attempt] === 'number' ? item[A.attempt] : 1;
  return (
    item[A.historyPk] === historyPartition(jobId) &&
    condition.from.includes(item[A.status] as Execution['status']) &&
    (condition.attempt === undefined || condition.attempt === attempt)
  );
}

function withId(execution: Execution, executionId: string): Execution {
  return { ...execution, execution_id: executionId, workflow_id: `wf_${executionId.slice('exec_'.length)}` };
}

/** The time an `EXEC#exec_<time>…` sort key starts with. */
function decodeTime(sk: string): Date | null {
  const match = /^EXEC#exec_([0-9a-z]{9})/.exec(sk);
  return match ? new Date(Number.parseInt(match[1] as string, 36)) : null;
}

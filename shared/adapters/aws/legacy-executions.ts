import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Execution } from '../../domain/execution.js';
import type { StoredExecution } from '../../ports.js';
import { A, toItem } from './execution-item.js';
import { JOBS_TABLE } from './jobs-table.js';

const MIGRATION = { pk: 'MIGRATION#RUNS_V2', sk: 'MIGRATION' };
/** How long a process trusts "the migration is not done yet" before reading the marker again. */
const PENDING_RECHECK_MS = 60_000;
/**
 * How long after the migration's first pass the previous version may still have recorded runs: the
 * functions of one deployment are replaced one after another, and an invocation of the old code already
 * running finishes. Generous, since all it costs is a marker lookup for the cron fires due in it.
 */
export const LEGACY_OVERLAP_MS = 3_600_000;

/**
 * Runs recorded before executions moved out of their job's partition (`JOB#<job>` / `EXEC#<id>`, a JSON
 * `doc`, the job's `execution_count`, markers `DEDUPE#<key>` and `RUN_LOCK` beside them). Until the
 * one-time migration has moved them all (`migrateAll`, run by the sweeper and at local start), reads
 * that miss in the new layout look here, and a change to such a run moves it first. Once the migration
 * marker says done, nothing is looked up here again.
 */
export class LegacyExecutions {
  private doneAt: 'done' | number | null = null;
  /**
   * Once the migration is done: until when the previous version may have recorded runs (epoch ms), or
   * null when it recorded none (the table had no job when the migration first ran).
   */
  private legacyUntil: number | null = null;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(jobId: string, executionId: string): Promise<StoredExecution | null> {
    if (await this.done()) return null;
    const item = await this.item({ pk: `JOB#${jobId}`, sk: `EXEC#${executionId}` });
    return item ? fromLegacyItem(item) : null;
  }

  async findByDedupeKey(jobId: string, dedupeKey: string): Promise<Execution | null> {
    if (await this.done()) return null;
    const marker = await this.item({ pk: `JOB#${jobId}`, sk: `DEDUPE#${dedupeKey}` });
    const executionId = marker?.execution_id;
    return typeof executionId === 'string' ? ((await this.get(jobId, executionId))?.execution ?? null) : null;
  }

  /**
   * The run that a dedupe marker of the previous layout gives `dedupeKey`, for a run due at `at`, or null.
   * Runs whose id derives from their key (cron fires) need no marker now, so a fire the previous version
   * recorded under a random id with a marker would, delivered again after the upgrade, get a second run.
   * Only fires due before the upgrade can have been recorded that way, so only those look: the marker as
   * the previous version wrote it (in the job's partition) and as the migration moved it
   * (`DEDUPE#<job>#<key>`). Later fires cost nothing.
   */
  async keyHolder(jobId: string, dedupeKey: string, at: Date): Promise<string | null> {
    const done = await this.done();
    if (done && (this.legacyUntil === null || at.getTime() >= this.legacyUntil)) return null;
    const [moved, old] = await Promise.all([
      this.item({ pk: `DEDUPE#${jobId}#${dedupeKey}`, sk: 'DEDUPE' }),
      this.item({ pk: `JOB#${jobId}`, sk: `DEDUPE#${dedupeKey}` }),
    ]);
    const holder = moved?.execution_id ?? old?.execution_id;
    return typeof holder === 'string' ? holder : null;
  }

  /** Moves one run into the new layout; false if there was none to move. */
  async migrate(jobId: string, executionId: string): Promise<boolean> {
    if (await this.done()) return false;
    const item = await this.item({ pk: `JOB#${jobId}`, sk: `EXEC#${executionId}` });
    if (!item) return false;
    await this.move(item);
    return true;
  }

  /**
   * Moves every run of every job, job by job, keeping its place in the marker so a later call resumes;
   * stops after `budget` items. True once everything is moved (then marks the migration done).
   */
  async migrateAll(budget = 5_000): Promise<boolean> {
    if (await this.done()) return true;
    const marker = await this.item(MIGRATION);
    let afterJob = typeof marker?.after_job === 'string' ? marker.after_job : undefined;
    // Decided on the first pass: a table with jobs then was written by the previous version. A marker of
    // a pass that did not record it (an earlier build) is treated as such.
    let legacyUntil: string | null | undefined =
      marker === undefined
        ? undefined
        : typeof marker.legacy_until === 'string' || marker.legacy_until === null
          ? marker.legacy_until
          : new Date(Date.now() + LEGACY_OVERLAP_MS).toISOString();
    let moved = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: JOBS_TABLE.indexes.all.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': JOBS_TABLE.indexes.all.partitionKey },
          ExpressionAttributeValues: { ':pk': 'JOBS' },
          ProjectionExpression: 'pk',
          ExclusiveStartKey: startKey,
        }),
      );
      startKey = page.LastEvaluatedKey;
      const jobIds = (page.Items ?? []).map((item) => String(item.pk).slice('JOB#'.length)).sort();
      legacyUntil ??= jobIds.length > 0 ? new Date(Date.now() + LEGACY_OVERLAP_MS).toISOString() : null;
      for (const jobId of jobIds) {
        if (afterJob !== undefined && jobId <= afterJob) continue;
        moved += await this.migrateJob(jobId);
        afterJob = jobId;
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...MIGRATION, after_job: afterJob, legacy_until: legacyUntil },
          }),
        );
        if (moved >= budget) return false;
      }
    } while (startKey !== undefined);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...MIGRATION,
          done: true,
          done_at: new Date().toISOString(),
          legacy_until: legacyUntil ?? null,
        },
      }),
    );
    this.doneAt = 'done';
    this.legacyUntil = legacyUntil ? Date.parse(legacyUntil) : null;
    return true;
  }

  private async migrateJob(jobId: string): Promise<number> {
    let moved = 0;
    let latest = '';
    let counted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `JOB#${jobId}` },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      startKey = page.LastEvaluatedKey;
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        if (sk.startsWith('EXEC#')) {
          await this.move(item);
          latest = sk.slice('EXEC#'.length) > latest ? sk.slice('EXEC#'.length) : latest;
          moved++;
        } else if (sk.startsWith('DEDUPE#')) {
          await this.client
            .send(
              new PutCommand({
                TableName: this.tableName,
                Item: {
                  pk: `DEDUPE#${jobId}#${sk.slice('DEDUPE#'.length)}`,
                  sk: 'DEDUPE',
                  execution_id: item.execution_id,
                  expires_at: item.expires_at,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            )
            .catch(ignoreConditionFailure);
          await this.delete(item);
        } else if (sk === 'RUN_LOCK') {
          await this.client
            .send(
              new PutCommand({
                TableName: this.tableName,
                Item: { pk: `LOCK#${jobId}`, sk: 'LOCK', holder: item.execution_id },
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            )
            .catch(ignoreConditionFailure);
          await this.delete(item);
        } else if (sk === 'JOB' && typeof item.execution_count === 'number') {
          counted = item.execution_count;
        }
      }
    } while (startKey !== undefined);
    if (counted > 0) {
      // The runs the job counted become part of its count snapshot; a snapshot started since the upgrade
      // (which counts only runs in the new index, all newer than these) keeps its place.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `JOB#${jobId}`, sk: 'RUN_COUNT' },
          UpdateExpression: 'ADD #count :counted SET #through = if_not_exists(#through, :latest)',
          ExpressionAttributeNames: { '#count': 'count', '#through': 'through' },
          ExpressionAttributeValues: { ':counted': counted, ':latest': latest },
        }),
      );
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `JOB#${jobId}`, sk: 'JOB' },
          UpdateExpression: 'REMOVE execution_count',
        }),
      );
    }
    return moved;
  }

  private async move(item: Record<string, unknown>): Promise<void> {
    const stored = fromLegacyItem(item);
    const next = toItem(stored.execution, {
      expiresAt: Number(item.expires_at ?? 0),
      exclusive: stored.exclusive,
    });
    if (stored.leaseUntil !== null) next[A.leaseUntil] = stored.leaseUntil;
    if (stored.callbackTokenHash !== '') next[A.callbackTokenHash] = stored.callbackTokenHash;
    await this.client
      .send(
        new PutCommand({
          TableName: this.tableName,
          Item: next,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch(ignoreConditionFailure);
    await this.delete(item);
  }

  private async delete(item: Record<string, unknown>): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk } }),
    );
  }

  private async item(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return result.Item;
  }

  private async done(): Promise<boolean> {
    if (this.doneAt === 'done') return true;
    if (this.doneAt !== null && Date.now() - this.doneAt < PENDING_RECHECK_MS) return false;
    const marker = await this.item(MIGRATION);
    if (marker?.done === true) {
      this.doneAt = 'done';
      this.legacyUntil = legacyUntilOf(marker);
      return true;
    }
    this.doneAt = Date.now();
    return false;
  }
}

/** A done marker's `legacy_until`; one written before it was recorded counts from `done_at`. */
function legacyUntilOf(marker: Record<string, unknown>): number | null {
  if (marker.legacy_until === null) return null;
  const at = Date.parse(String(marker.legacy_until ?? ''));
  if (Number.isFinite(at)) return at;
  const doneAt = Date.parse(String(marker.done_at ?? ''));
  return Number.isFinite(doneAt) ? doneAt + LEGACY_OVERLAP_MS : null;
}

function ignoreConditionFailure(error: unknown): void {
  if (!(error instanceof ConditionalCheckFailedException)) throw error;
}

/** An execution item of the old layout: the whole execution as JSON in `doc`. */
function fromLegacyItem(item: Record<string, unknown>): StoredExecution {
  return {
    execution: JSON.parse(String(item.doc)) as Execution,
    callbackTokenHash: String(item.callback_token_hash ?? ''),
    leaseUntil: typeof item.lease_until === 'string' ? item.lease_until : null,
    exclusive: item.exclusive === true,
  };
}

import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Entity } from '../../domain/entity.js';
import type { EntityPage, EntityStore, EntityTargetRecord, StoredEntity } from '../../ports.js';
import { type BatchedItems, batchedItems } from './batched-items.js';
import { BoundedReader, DEFAULT_READ_CEILING, type ReadCeiling } from './bounded-query.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { TransactItem } from './expressions.js';
import { setAll } from './expressions.js';
import { JOBS_TABLE } from './jobs-table.js';
import { ENTITY_PARTITION, keys } from './keys.js';

const SORT_KEY_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(.+)$/;
const listSortKey = (entity: Entity) => `${entity.created_at}#${entity.id}`;

/**
 * Entities, and the one item naming the deployment default. `default` is not stored on the entity:
 * it is read from that pointer, so moving the default is a single write and can never leave two.
 * `job_refs` counts the jobs naming the entity; job writes keep it in step (see DynamoJobStore).
 */
/** How long a process keeps the default entity it found (see `defaultRef`). */
const DEFAULT_REF_TTL_MS = 10_000;

export class DynamoEntityStore implements EntityStore {
  private cachedDefault: { ref: { id: string; type: Entity['type'] }; until: number } | null = null;
  /** `getTarget` reads in flight, by entity id (see there). */
  private readonly targetReads = new Map<string, Promise<EntityTargetRecord | null>>();

  /** Point reads, sent with the table's other reads asked for meanwhile. */
  private readonly reads: BatchedItems;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** How much one list request may read. @default DEFAULT_READ_CEILING */
    private readonly readCeiling: ReadCeiling = DEFAULT_READ_CEILING,
  ) {
    this.reads = batchedItems(client, tableName);
  }

  async create(entity: Entity, sealedSecret: string | null): Promise<boolean> {
    this.cachedDefault = null;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: this.toItem(entity, 1, sealedSecret),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ];
    if (entity.default) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { ...keys.defaultEntity(), entity_id: entity.id, entity_type: entity.type },
        },
      });
    }
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (error) {
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      ) {
        return false;
      }
      throw error;
    }
  }

  async get(id: string): Promise<StoredEntity | null> {
    const [item, defaultId] = await Promise.all([this.getItem(id), this.defaultId()]);
    return item ? this.fromItem(item, defaultId) : null;
  }

  /**
   * One page of entities, newest first, read within the request's ceiling; a page cut short (by the
   * ceiling, or by DynamoDB's 1 MB per Query) still carries a cursor when more may follow.
   */
  async list(options: { limit: number; cursor?: string }): Promise<EntityPage> {
    const index = JOBS_TABLE.indexes.all;
    let startKey: Record<string, unknown> | undefined;
    if (options.cursor !== undefined) {
      const match = decodeCursor(options.cursor, SORT_KEY_PATTERN);
      startKey = {
        ...keys.entity(match[1] as string),
        [index.partitionKey]: ENTITY_PARTITION,
        [index.sortKey]: match[0],
      };
    }
    const [read, defaultId] = await Promise.all([
      new BoundedReader(this.client, this.readCeiling).read(
        {
          TableName: this.tableName,
          IndexName: index.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': index.partitionKey },
          ExpressionAttributeValues: { ':pk': ENTITY_PARTITION },
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        },
        // One more than the page tells whether another page exists.
        options.limit + 1,
      ),
      this.defaultId(),
    ]);
    const entities = read.items.slice(0, options.limit).map((item) => this.fromItem(item, defaultId).entity);
    const last = entities.at(-1);
    const more = read.items.length > options.limit || !read.complete;
    return { entities, nextCursor: more && last ? encodeCursor(listSortKey(last)) : null };
  }

  async replace(
    entity: Entity,
    sealedSecret: string | null,
    expectedVersion: number,
  ): Promise<StoredEntity | null> {
    this.cachedDefault = null;
    this.targetReads.delete(entity.id);
    const version = expectedVersion + 1;
    const { pk: _pk, sk: _sk, ...attributes } = this.toItem(entity, version, sealedSecret);
    const set = setAll(attributes);
    try {
      // An update, so the job reference count on the item is kept.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.entity(entity.id),
          ...set,
          ConditionExpression: 'attribute_exists(pk) AND version = :expected',
          ExpressionAttributeValues: { ...set.ExpressionAttributeValues, ':expected': expectedVersion },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
    // A target read that started before this write ended may not be shared by reads made after it.
    this.targetReads.delete(entity.id);
    if (entity.default) {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.defaultEntity(), entity_id: entity.id, entity_type: entity.type },
        }),
      );
    } else {
      await this.clearDefaultIf(entity.id);
    }
    return { entity, version, sealedSecret };
  }

  async delete(id: string): Promise<'deleted' | 'not_found' | 'referenced'> {
    this.cachedDefault = null;
    this.targetReads.delete(id);
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.entity(id),
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(job_refs) OR job_refs <= :zero)',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.getItem(id)) ? 'referenced' : 'not_found';
    }
    this.targetReads.delete(id);
    await this.clearDefaultIf(id);
    return 'deleted';
  }

  async getDefault(): Promise<StoredEntity | null> {
    const defaultId = await this.defaultId();
    if (defaultId === null) return null;
    const item = await this.getItem(defaultId);
    return item ? this.fromItem(item, defaultId) : null;
  }

  /**
   * Kept for a few seconds once found (each run of a job without an entity needs it, and it changes
   * rarely); this store's own writes forget it at once, another process's are seen within
   * `DEFAULT_REF_TTL_MS`. "No default" is never kept, so a default just made is found at once.
   */
  async defaultRef(): Promise<{ id: string; type: Entity['type'] } | null> {
    if (this.cachedDefault && this.cachedDefault.until > Date.now()) return this.cachedDefault.ref;
    const pointer = await this.reads.get(keys.defaultEntity(), { consistent: false });
    const id = pointer?.entity_id;
    if (typeof id !== 'string') return null;
    let type = pointer?.entity_type;
    if (type !== 'agent' && type !== 'team' && type !== 'workflow') {
      // A pointer written before it carried the type.
      const stored = await this.get(id);
      if (!stored) return null;
      type = stored.entity.type;
    }
    const ref = { id, type: type as Entity['type'] };
    this.cachedDefault = { ref, until: Date.now() + DEFAULT_REF_TTL_MS };
    return ref;
  }

  /**
   * An eventually consistent read, shared by the runs that ask for the same entity while it is in flight
   * (a batch of runs of one entity makes one read, not one each): such a read may answer the item as it
   * was a moment before it started anyway. This store's own writes of the entity stop later reads from
   * sharing a read that started before the write ended.
   */
  getTarget(id: string): Promise<EntityTargetRecord | null> {
    const inFlight = this.targetReads.get(id);
    if (inFlight) return inFlight;
    const read = this.readTarget(id).finally(() => {
      if (this.targetReads.get(id) === read) this.targetReads.delete(id);
    });
    this.targetReads.set(id, read);
    return read;
  }

  private async readTarget(id: string): Promise<EntityTargetRecord | null> {
    const item = await this.reads.get(keys.entity(id), { consistent: false });
    if (!item) return null;
    const { entity, sealedSecret } = this.fromItem(item, null);
    return {
      entity: { id: entity.id, type: entity.type, name: entity.name, target: entity.target },
      sealedSecret,
    };
  }

  /** How many jobs name the entity (for messages). */
  async referenceCount(id: string): Promise<number> {
    return Number((await this.getItem(id))?.job_refs ?? 0);
  }

  private async getItem(id: string): Promise<Record<string, unknown> | undefined> {
    return this.reads.get(keys.entity(id), { consistent: true });
  }

  private async defaultId(): Promise<string | null> {
    const pointer = await this.reads.get(keys.defaultEntity(), { consistent: true });
    return typeof pointer?.entity_id === 'string' ? pointer.entity_id : null;
  }

  private async clearDefaultIf(id: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.defaultEntity(),
          ConditionExpression: 'entity_id = :id',
          ExpressionAttributeValues: { ':id': id },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private toItem(entity: Entity, version: number, sealedSecret: string | null) {
    const { default: _default, ...doc } = entity;
    return {
      ...keys.entity(entity.id),
      gsi1pk: ENTITY_PARTITION,
      gsi1sk: listSortKey(entity),
      entity_type: entity.type,
      version,
      sealed_secret: sealedSecret,
      doc: JSON.stringify(doc),
    };
  }

  private fromItem(item: Record<string, unknown>, defaultId: string | null): StoredEntity {
    const doc = JSON.parse(String(item.doc)) as Omit<Entity, 'default'>;
    return {
      entity: { ...doc, default: doc.id === defaultId },
      version: Number(item.version),
      sealedSecret: typeof item.sealed_secret === 'string' ? item.sealed_secret : null,
    };
  }
}

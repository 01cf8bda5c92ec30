import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Channel, ChannelSpec } from '../../domain/notification-channel.js';
import type { ChannelPage, ChannelStore, DeliveryRecord, StoredChannel } from '../../ports.js';
import { alertKeys, CHANNEL_PARTITION } from './alert-items.js';
import { BoundedReader, DEFAULT_READ_CEILING, type ReadCeiling } from './bounded-query.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { TransactItem } from './expressions.js';

const SORT_KEY_PATTERN = /^CHANNEL#(nch_[0-9a-z]{9}[0-9a-f]{16})$/;

/** The document: what the caller controls, and the times; the delivery counters are attributes of their own. */
type ChannelDoc = ChannelSpec & Pick<Channel, 'id' | 'created_at' | 'updated_at'>;

/**
 * Notification channels as items of one partition (`CHANNELS`, sorted by id, so by age), and one item
 * holding the set of default channel ids, changed in the same transaction as the channel, so finding
 * the defaults is one read. A delivery updates the channel's counters with one UpdateItem that leaves
 * its document and version alone.
 */
export class DynamoChannelStore implements ChannelStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** How much one list request may read. @default DEFAULT_READ_CEILING */
    private readonly readCeiling: ReadCeiling = DEFAULT_READ_CEILING,
  ) {}

  async create(channel: Channel, sealedSecret: string | null): Promise<boolean> {
    try {
      await this.transact([
        {
          Put: {
            TableName: this.tableName,
            Item: this.toItem(channel, 1, sealedSecret),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        ...(channel.default ? [this.defaultChange(channel.id, true)] : []),
      ]);
      return true;
    } catch (error) {
      if (isConditionFailure(error, 0)) return false;
      throw error;
    }
  }

  async get(id: string): Promise<StoredChannel | null> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: alertKeys.channel(id), ConsistentRead: true }),
    );
    return result.Item ? fromItem(result.Item) : null;
  }

  async list(options: { limit: number; cursor?: string }): Promise<ChannelPage> {
    const startKey =
      options.cursor === undefined
        ? undefined
        : { ...alertKeys.channel(decodeCursor(options.cursor, SORT_KEY_PATTERN)[1] as string) };
    const read = await new BoundedReader(this.client, this.readCeiling).read(
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': CHANNEL_PARTITION, ':prefix': 'CHANNEL#' },
        ScanIndexForward: false,
        ExclusiveStartKey: startKey,
      },
      options.limit + 1,
    );
    const channels = read.items.slice(0, options.limit).map((item) => fromItem(item).channel);
    const last = channels.at(-1);
    const more = read.items.length > options.limit || !read.complete;
    return { channels, nextCursor: more && last ? encodeCursor(`CHANNEL#${last.id}`) : null };
  }

  async replace(
    channel: Channel,
    sealedSecret: string | null,
    expectedVersion: number,
  ): Promise<StoredChannel | null> {
    const version = expectedVersion + 1;
    const { doc, sealed_secret } = this.toItem(channel, version, sealedSecret);
    try {
      await this.transact([
        {
          Update: {
            TableName: this.tableName,
            Key: alertKeys.channel(channel.id),
            UpdateExpression: 'SET doc = :doc, sealed_secret = :secret, version = :version',
            ConditionExpression: 'attribute_exists(pk) AND version = :expected',
            ExpressionAttributeValues: {
              ':doc': doc,
              ':secret': sealed_secret,
              ':version': version,
              ':expected': expectedVersion,
            },
          },
        },
        this.defaultChange(channel.id, channel.default),
      ]);
    } catch (error) {
      if (isConditionFailure(error, 0)) return null;
      throw error;
    }
    return this.get(channel.id);
  }

  async delete(id: string): Promise<boolean> {
    try {
      await this.transact([
        {
          Delete: {
            TableName: this.tableName,
            Key: alertKeys.channel(id),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        this.defaultChange(id, false),
      ]);
      return true;
    } catch (error) {
      if (isConditionFailure(error, 0)) return false;
      throw error;
    }
  }

  async defaultIds(): Promise<string[]> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: alertKeys.defaultChannels() }),
    );
    const ids = result.Item?.ids;
    return ids instanceof Set ? [...(ids as Set<string>)].sort() : [];
  }

  async recordDelivery(id: string, record: DeliveryRecord): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: alertKeys.channel(id),
          UpdateExpression: record.ok
            ? 'SET last_delivery_at = :at, last_delivery_status = :status, last_delivery_error = :error, consecutive_delivery_failures = :zero'
            : 'SET last_delivery_at = :at, last_delivery_status = :status, last_delivery_error = :error ADD consecutive_delivery_failures :one',
          // A delivery finishing after the channel was deleted must not bring back a bare item.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':at': record.at,
            ':status': record.ok ? 'delivered' : 'failed',
            ':error': record.error,
            ...(record.ok ? { ':zero': 0 } : { ':one': 1 }),
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Adds the id to the default set, or takes it out (neither needs the set to exist, or the id in it). */
  private defaultChange(id: string, isDefault: boolean): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: alertKeys.defaultChannels(),
        UpdateExpression: isDefault ? 'ADD ids :id' : 'DELETE ids :id',
        ExpressionAttributeValues: { ':id': new Set([id]) },
      },
    };
  }

  private transact(items: TransactItem[]): Promise<unknown> {
    return this.client.send(new TransactWriteCommand({ TransactItems: items }));
  }

  private toItem(channel: Channel, version: number, sealedSecret: string | null) {
    const doc: ChannelDoc = {
      id: channel.id,
      name: channel.name,
      type: channel.type,
      url: channel.url,
      topic_arn: channel.topic_arn,
      events: channel.events,
      default: channel.default,
      created_at: channel.created_at,
      updated_at: channel.updated_at,
    };
    return {
      ...alertKeys.channel(channel.id),
      version,
      sealed_secret: sealedSecret,
      doc: JSON.stringify(doc),
    };
  }
}

function fromItem(item: Record<string, unknown>): StoredChannel {
  const doc = JSON.parse(String(item.doc)) as ChannelDoc;
  const status = item.last_delivery_status;
  return {
    channel: {
      ...doc,
      last_delivery_at: typeof item.last_delivery_at === 'string' ? item.last_delivery_at : null,
      last_delivery_status: status === 'delivered' || status === 'failed' ? status : null,
      last_delivery_error: typeof item.last_delivery_error === 'string' ? item.last_delivery_error : null,
      consecutive_delivery_failures: Number(item.consecutive_delivery_failures ?? 0),
    },
    version: Number(item.version),
    sealedSecret: typeof item.sealed_secret === 'string' ? item.sealed_secret : null,
  };
}

/** Whether the transaction failed on the condition of its `index`th item. */
function isConditionFailure(error: unknown, index: number): boolean {
  return (
    error instanceof TransactionCanceledException &&
    error.CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed'
  );
}

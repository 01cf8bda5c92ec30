import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { MAX_API_KEYS, SCOPES, type Scope } from '../../domain/access.js';
import type { ApiKeyStore, StoredApiKey } from '../../ports.js';
import { API_KEY_PARTITION, keys } from './keys.js';

/**
 * Stored API keys, one item each (`API_KEYS` / `KEY#<name>`): the key's SHA-256 hash, never the key,
 * its scope and times. All in one partition, read with one Query by each API function instance once a
 * minute at most (see ApiKeyService).
 */
export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(): Promise<StoredApiKey[]> {
    const found: StoredApiKey[] = [];
    let startKey: Record<string, unknown> | undefined;
    // Bounded: the service refuses keys past MAX_API_KEYS, so two pages are more than ever needed.
    for (let page = 0; page < 2; page++) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': API_KEY_PARTITION, ':prefix': 'KEY#' },
          ConsistentRead: true,
          Limit: MAX_API_KEYS * 2,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) {
        const key = storedKeyOf(item);
        if (key) found.push(key);
      }
      startKey = result.LastEvaluatedKey;
      if (!startKey) break;
    }
    return found;
  }

  async create(key: StoredApiKey): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.apiKey(key.name),
            name: key.name,
            scope: key.scope,
            key_hash: key.keyHash,
            created_at: key.createdAt,
            ...(key.lastUsedAt !== null && { last_used_at: key.lastUsedAt }),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async delete(name: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.apiKey(name),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async touch(name: string, at: string, notBefore: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.apiKey(name),
          UpdateExpression: 'SET last_used_at = :at',
          // Never on a revoked key (that would recreate it), and once per interval whoever races.
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :notBefore)',
          ExpressionAttributeValues: { ':at': at, ':notBefore': notBefore },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

function storedKeyOf(item: Record<string, unknown>): StoredApiKey | null {
  const scope = item.scope;
  if (typeof item.name !== 'string' || typeof item.key_hash !== 'string') return null;
  if (!SCOPES.includes(scope as Scope)) return null;
  return {
    name: item.name,
    scope: scope as Scope,
    keyHash: item.key_hash,
    createdAt: String(item.created_at),
    lastUsedAt: typeof item.last_used_at === 'string' ? item.last_used_at : null,
  };
}

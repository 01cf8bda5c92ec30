import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock, RateLimiter } from '../../ports.js';
import { keys } from './keys.js';

const MAX_ROUNDS = 4;

/**
 * A shared rate limit (generic cell rate algorithm) in one item per key: it holds the theoretical
 * arrival time (TAT) of the next request. A request is allowed while TAT − now ≤ (burst − 1) / rate; taking
 * one moves TAT by 1 / rate. Read, decide, conditional write: concurrent callers serialise on the
 * item's previous TAT, so the limit holds across every Lambda instance.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async take(key: string, rate: number, burst: number) {
    const itemKey = keys.webhookRate(key);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const now = this.clock.now().getTime();
      const { Item: item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }),
      );
      const previous = typeof item?.tat === 'number' ? item.tat : null;
      const interval = 1000 / rate;
      const tat = Math.max(previous ?? now, now);
      const allowance = (burst / rate) * 1000;
      // Room for `burst` requests at once: the next is allowed while TAT − now ≤ (burst − 1) intervals.
      if (tat - now > allowance - interval) {
        const waitMs = tat - now - allowance + interval;
        return { allowed: false as const, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
      }
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...itemKey, tat: tat + interval, expires_at: Math.ceil((tat + interval) / 1000) + 3600 },
            ConditionExpression: previous === null ? 'attribute_not_exists(pk)' : 'tat = :previous',
            ...(previous !== null && { ExpressionAttributeValues: { ':previous': previous } }),
          }),
        );
        return { allowed: true as const };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    // Lost every race: the key is busier than its limit anyway.
    return { allowed: false as const, retryAfterSeconds: 1 };
  }
}

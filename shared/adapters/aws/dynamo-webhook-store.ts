import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Job } from '../../domain/job.js';
import type { WebhookRecord, WebhookStore } from '../../ports.js';
import { batchedItems } from './batched-items.js';
import { setAll } from './expressions.js';
import { keys } from './keys.js';

/** Webhook path items (`WEBHOOK#<path>`), written with their job by DynamoJobStore. */
export class DynamoWebhookStore implements WebhookStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(path: string): Promise<WebhookRecord | null> {
    const item = await batchedItems(this.client, this.tableName).get(keys.webhook(path), {
      consistent: true,
    });
    if (!item) return null;
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    const used = item.last_secret_used;
    return {
      path,
      jobId: String(item.job_id),
      sealedSecret: String(item.sealed_secret),
      previousSealedSecret: text(item.previous_sealed_secret),
      previousValidUntil: text(item.previous_valid_until),
      rotatedAt: text(item.rotated_at),
      lastSecretUsed: used === 'current' || used === 'previous' ? used : null,
      job: typeof item.job_doc === 'string' ? (JSON.parse(item.job_doc) as Job) : null,
    };
  }

  async rotate(
    path: string,
    expectedSealedSecret: string,
    change: {
      sealedSecret: string;
      previousSealedSecret: string | null;
      previousValidUntil: string | null;
      rotatedAt: string;
    },
  ): Promise<boolean> {
    const update = setAll({
      sealed_secret: change.sealedSecret,
      previous_sealed_secret: change.previousSealedSecret,
      previous_valid_until: change.previousValidUntil,
      rotated_at: change.rotatedAt,
      last_secret_used: null,
    });
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.webhook(path),
          ...update,
          ConditionExpression: 'sealed_secret = :expected',
          ExpressionAttributeValues: {
            ...update.ExpressionAttributeValues,
            ':expected': expectedSealedSecret,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async recordDelivery(path: string, secretUsed: 'current' | 'previous'): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.webhook(path),
          UpdateExpression: 'SET last_secret_used = :used',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':used': secretUsed },
        }),
      );
    } catch (error) {
      // The job was deleted after the delivery was accepted: nothing left to record on.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

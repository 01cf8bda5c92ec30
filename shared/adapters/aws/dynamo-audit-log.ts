import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry, AuditEntrySchema } from '../../domain/audit.js';
import type { AuditLog, AuditPage } from '../../ports.js';
import { BoundedReader, DEFAULT_READ_CEILING, type ReadCeiling } from './bounded-query.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { AUDIT_PREFIX, auditPartition, keys } from './keys.js';

/** The sort key of an entry, as a cursor carries it. */
const AUDIT_SK = /^AUDIT#\d{4}-\d{2}-\d{2}T[0-9:.]+Z#[0-9a-f]{8}$/;

/**
 * The audit trail in the jobs table: a job's entries in the job's partition (`AUDIT#<at>#<random>`),
 * other resources' in `AUDIT#<type>#<id>`; each with the TTL of execution records. A job's history is one
 * Query of its partition's `AUDIT#` range, newest first, through the same read ceiling as every list.
 */
export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly readCeiling: ReadCeiling = DEFAULT_READ_CEILING,
  ) {}

  async append(entry: AuditEntry, expiresAt: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.audit(entry.resource, entry.at, randomBytes(4).toString('hex')),
          expires_at: expiresAt,
          doc: JSON.stringify(entry),
        },
      }),
    );
  }

  async listForJob(jobId: string, page: { limit: number; cursor?: string }): Promise<AuditPage> {
    const pk = auditPartition({ type: 'job', id: jobId });
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, AUDIT_SK)[0];
    const input: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': AUDIT_PREFIX },
      ProjectionExpression: 'sk, doc',
      ScanIndexForward: false,
      ...(after !== undefined && { ExclusiveStartKey: { pk, sk: after } }),
    };
    // One extra item tells whether another page exists, so the last page carries no cursor.
    const read = await new BoundedReader(this.client, this.readCeiling).read(input, page.limit + 1);
    const items = read.items.slice(0, page.limit);
    const entries = items.map((item) => AuditEntrySchema.parse(JSON.parse(String(item.doc))));
    const more = read.items.length > page.limit || !read.complete;
    const lastSk = items.at(-1)?.sk ?? read.lastEvaluatedKey?.sk;
    return { entries, nextCursor: more && typeof lastSk === 'string' ? encodeCursor(lastSk) : null };
  }
}

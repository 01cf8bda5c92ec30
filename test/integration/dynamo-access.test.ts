import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../shared/adapters/api-keys.js';
import { DynamoApiKeyStore } from '../../shared/adapters/aws/dynamo-api-key-store.js';
import { DynamoAuditLog } from '../../shared/adapters/aws/dynamo-audit-log.js';
import { keys } from '../../shared/adapters/aws/keys.js';
import type { AuditEntry } from '../../shared/domain/audit.js';
import type { StoredApiKey } from '../../shared/ports.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

let table: TestTable;
let apiKeys: DynamoApiKeyStore;
let audit: DynamoAuditLog;

beforeAll(async () => {
  table = await createTestTable('access');
  apiKeys = new DynamoApiKeyStore(table.documents, table.tableName);
  // A small read ceiling, so a page that reaches it is exercised too.
  audit = new DynamoAuditLog(table.documents, table.tableName, { items: 4, queries: 2 });
});

afterAll(async () => {
  await table?.drop();
});

const storedKey = (name: string, overrides: Partial<StoredApiKey> = {}): StoredApiKey => ({
  name,
  scope: 'read',
  keyHash: hashApiKey(`sjk_${name}`).toString('hex'),
  createdAt: '2025-01-15T09:00:00.000Z',
  lastUsedAt: null,
  ...overrides,
});

describe('DynamoApiKeyStore', () => {
  it('creates each name once, lists every key in one partition, and deletes', async () => {
    // Act
    const first = await apiKeys.create(storedKey('alpha', { scope: 'admin' }));
    const again = await apiKeys.create(storedKey('alpha'));
    await apiKeys.create(storedKey('beta'));
    const listed = await apiKeys.list();
    const deleted = await apiKeys.delete('beta');
    const deletedAgain = await apiKeys.delete('beta');
    const after = await apiKeys.list();

    // Assess
    expect([first, again, deleted, deletedAgain]).toEqual([true, false, true, false]);
    expect(listed.map((key) => [key.name, key.scope])).toEqual([
      ['alpha', 'admin'],
      ['beta', 'read'],
    ]);
    expect(after.map((key) => key.name)).toEqual(['alpha']);
    const { Item } = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: keys.apiKey('alpha') }),
    );
    expect(Item).toEqual({
      pk: 'API_KEYS',
      sk: 'KEY#alpha',
      name: 'alpha',
      scope: 'admin',
      key_hash: hashApiKey('sjk_alpha').toString('hex'),
      created_at: '2025-01-15T09:00:00.000Z',
    });
  });

  it('records a use unless one within the interval is recorded, and never recreates a revoked key', async () => {
    // Prepare
    await apiKeys.create(storedKey('gamma'));

    // Act
    await apiKeys.touch('gamma', '2025-01-15T09:01:00.000Z', '2025-01-15T09:00:00.001Z');
    await apiKeys.touch('gamma', '2025-01-15T09:01:30.000Z', '2025-01-15T09:00:30.001Z');
    const afterSecond = (await apiKeys.list()).find((key) => key.name === 'gamma')?.lastUsedAt;
    await apiKeys.touch('gamma', '2025-01-15T09:02:00.000Z', '2025-01-15T09:01:00.001Z');
    const afterThird = (await apiKeys.list()).find((key) => key.name === 'gamma')?.lastUsedAt;
    await apiKeys.touch('never-created', '2025-01-15T09:02:00.000Z', '2025-01-15T09:01:00.001Z');

    // Assess
    expect(afterSecond).toBe('2025-01-15T09:01:00.000Z');
    expect(afterThird).toBe('2025-01-15T09:02:00.000Z');
    expect((await apiKeys.list()).map((key) => key.name)).not.toContain('never-created');
  });
});

describe('DynamoAuditLog', () => {
  const entry = (jobId: string, at: string, action: AuditEntry['action']): AuditEntry => ({
    at,
    action,
    resource: { type: 'job', id: jobId },
    actor: { type: 'api_key', name: 'ci' },
    changed_fields: ['enabled'],
  });

  it('keeps a job’s entries in its partition with a TTL, and reads them newest first in pages', async () => {
    // Prepare
    const jobId = `job_${randomUUID()}`;
    const times = ['09:00', '09:01', '09:02', '09:03', '09:04'].map((t) => `2025-01-15T${t}:00.000Z`);
    for (const at of times) await audit.append(entry(jobId, at, 'updated'), 1_800_000_000);
    // Another job's and an entity's entries are not in the history.
    await audit.append(entry(`job_${randomUUID()}`, times[0] as string, 'created'), 1_800_000_000);
    await audit.append(
      { ...entry(jobId, times[0] as string, 'created'), resource: { type: 'entity', id: 'agent' } },
      1_800_000_000,
    );

    // Act
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await audit.listForJob(jobId, { limit: 2, ...(cursor && { cursor }) });
      pages.push(page.entries.map((e) => e.at.slice(11, 16)));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const raw = await table.documents.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `JOB#${jobId}` },
      }),
    );
    const entityItems = await table.documents.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'AUDIT#entity#agent' },
      }),
    );

    // Assess
    expect(pages).toEqual([['09:04', '09:03'], ['09:02', '09:01'], ['09:00']]);
    expect(raw.Items).toHaveLength(5);
    for (const item of raw.Items ?? []) {
      expect(item.sk).toMatch(/^AUDIT#2025-01-15T09:0\d:00\.000Z#[0-9a-f]{8}$/);
      expect(item.expires_at).toBe(1_800_000_000);
    }
    expect(entityItems.Items).toHaveLength(1);
  });

  it('refuses a cursor it did not issue', async () => {
    // Act
    const read = audit.listForJob(`job_${randomUUID()}`, { limit: 2, cursor: 'bm9wZQ' });

    // Assess
    await expect(read).rejects.toMatchObject({ code: 'invalid_cursor' });
  });
});

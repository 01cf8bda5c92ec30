import { randomBytes, randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { DynamoWebhookStore } from '../../shared/adapters/aws/dynamo-webhook-store.js';
import { keys } from '../../shared/adapters/aws/keys.js';
import { buildJobSpec, type Job, type TriggerType } from '../../shared/domain/job.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

let table: TestTable;
let jobs: DynamoJobStore;
let webhooks: DynamoWebhookStore;

beforeAll(async () => {
  table = await createTestTable('webhooks');
  jobs = new DynamoJobStore(table.documents, table.tableName);
  webhooks = new DynamoWebhookStore(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.drop();
});

const newPath = () => randomBytes(24).toString('base64url');

function makeJob(trigger: TriggerType = 'webhook', path: string | null = newPath()): Job {
  const spec = buildJobSpec({ name: 'hook', trigger_type: trigger, prompt_template: 'Deploy {{ branch }}' });
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id: `job_${randomUUID()}`,
    ...spec,
    created_at: at,
    updated_at: at,
    webhook_path: trigger === 'webhook' ? path : null,
  };
}

/** The raw path item, to see what is stored rather than what the store chooses to return. */
async function rawPathItem(path: string) {
  const { Item } = await table.documents.send(
    new GetCommand({ TableName: table.tableName, Key: keys.webhook(path), ConsistentRead: true }),
  );
  return Item ?? null;
}

describe('DynamoWebhookStore with the job store', () => {
  it('gets the path item written by the job’s create transaction', async () => {
    // Prepare
    const job = makeJob();
    const path = job.webhook_path as string;

    // Act
    await jobs.create(job, { sealedSecret: 'sealed-1' });
    const record = await webhooks.get(path);

    // Assess
    expect(record).toEqual({
      path,
      jobId: job.id,
      sealedSecret: 'sealed-1',
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: null,
      lastSecretUsed: null,
      job,
    });
    expect(await webhooks.get(newPath())).toBeNull();
  });

  it('refuses a webhook path without a secret, writing nothing', async () => {
    // Prepare
    const job = makeJob();

    // Act
    const creating = jobs.create(job);

    // Assess
    await expect(creating).rejects.toThrow(/without a secret/);
    expect(await jobs.get(job.id)).toBeNull();
    expect(await rawPathItem(job.webhook_path as string)).toBeNull();
  });

  it('fails the whole transaction for a path another job holds: no second job, the first keeps its path', async () => {
    // Prepare
    const first = makeJob();
    const path = first.webhook_path as string;
    await jobs.create(first, { sealedSecret: 'sealed-first' });
    const second = makeJob('webhook', path);

    // Act
    const creating = jobs.create(second, { sealedSecret: 'sealed-second' });

    // Assess
    await expect(creating).rejects.toThrow();
    expect(await jobs.get(second.id)).toBeNull();
    expect(await webhooks.get(path)).toMatchObject({ jobId: first.id, sealedSecret: 'sealed-first' });
  });

  it('keeps the item (and its rotation state) across updates that keep the path', async () => {
    // Prepare
    const job = makeJob();
    const path = job.webhook_path as string;
    const created = await jobs.create(job, { sealedSecret: 'sealed-1' });
    await webhooks.rotate(path, 'sealed-1', {
      sealedSecret: 'sealed-2',
      previousSealedSecret: 'sealed-1',
      previousValidUntil: '2026-01-02T00:00:00.000Z',
      rotatedAt: '2026-01-01T00:00:00.000Z',
    });

    // Act
    const renamed = await jobs.replace({ ...job, name: 'renamed' }, created.version, job);
    const disabled = await jobs.replace({ ...job, name: 'renamed', enabled: false }, renamed?.version ?? 0, {
      ...job,
      name: 'renamed',
    });

    // Assess
    expect(disabled?.version).toBe(3);
    expect(await webhooks.get(path)).toMatchObject({
      jobId: job.id,
      sealedSecret: 'sealed-2',
      previousSealedSecret: 'sealed-1',
      rotatedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('deletes the item when an update takes the job away from webhook, and writes one when it becomes one', async () => {
    // Prepare
    const job = makeJob();
    const path = job.webhook_path as string;
    const created = await jobs.create(job, { sealedSecret: 'sealed-1' });
    const manual: Job = { ...job, trigger_type: 'manual', webhook_path: null };
    const nextPath = newPath();
    const webhookAgain: Job = { ...job, webhook_path: nextPath };

    // Act
    const movedAway = await jobs.replace(manual, created.version, job);
    const afterMove = await webhooks.get(path);
    const movedBack = await jobs.replace(webhookAgain, movedAway?.version ?? 0, manual, {
      sealedSecret: 'sealed-new',
    });

    // Assess
    expect(movedAway?.version).toBe(2);
    expect(afterMove).toBeNull();
    expect(await rawPathItem(path)).toBeNull();
    expect(movedBack?.version).toBe(3);
    expect(await webhooks.get(nextPath)).toMatchObject({ jobId: job.id, sealedSecret: 'sealed-new' });
  });

  it('leaves the item alone when a stale update loses, and deletes it with the job', async () => {
    // Prepare
    const job = makeJob();
    const path = job.webhook_path as string;
    const created = await jobs.create(job, { sealedSecret: 'sealed-1' });
    await jobs.replace({ ...job, name: 'v2' }, created.version, job);

    // Act
    const stale = await jobs.replace(
      { ...job, trigger_type: 'manual', webhook_path: null },
      created.version,
      job,
    );
    const afterStale = await webhooks.get(path);
    const staleDelete = await jobs.delete(job, created.version);
    const deleted = await jobs.delete({ ...job, name: 'v2' }, 2);

    // Assess
    expect(stale).toBeNull();
    expect(afterStale?.jobId).toBe(job.id);
    expect(staleDelete).toBe(false);
    expect(deleted).toBe(true);
    expect(await jobs.get(job.id)).toBeNull();
    expect(await rawPathItem(path)).toBeNull();
  });

  it('rotate replaces the secrets and clears which one was last used; false (and nothing written) for an unknown path', async () => {
    // Prepare
    const job = makeJob();
    const path = job.webhook_path as string;
    await jobs.create(job, { sealedSecret: 'sealed-1' });
    await webhooks.recordDelivery(path, 'current');
    const unknown = newPath();

    // Act
    const withGrace = await webhooks.rotate(path, 'sealed-1', {
      sealedSecret: 'sealed-2',
      previousSealedSecret: 'sealed-1',
      previousValidUntil: '2026-01-02T00:00:00.000Z',
      rotatedAt: '2026-01-01T00:00:00.000Z',
    });
    const afterGrace = await webhooks.get(path);
    const stale = await webhooks.rotate(path, 'sealed-1', {
      sealedSecret: 'lost',
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: '2026-01-01T00:30:00.000Z',
    });
    const revoking = await webhooks.rotate(path, 'sealed-2', {
      sealedSecret: 'sealed-3',
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: '2026-01-01T01:00:00.000Z',
    });
    const afterRevoke = await webhooks.get(path);
    const missing = await webhooks.rotate(unknown, 'x', {
      sealedSecret: 'x',
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: '2026-01-01T00:00:00.000Z',
    });

    // Assess
    expect(withGrace).toBe(true);
    expect(afterGrace).toEqual({
      path,
      jobId: job.id,
      sealedSecret: 'sealed-2',
      previousSealedSecret: 'sealed-1',
      previousValidUntil: '2026-01-02T00:00:00.000Z',
      rotatedAt: '2026-01-01T00:00:00.000Z',
      lastSecretUsed: null,
      job,
    });
    expect(stale).toBe(false);
    expect(revoking).toBe(true);
    expect(afterRevoke).toMatchObject({
      sealedSecret: 'sealed-3',
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: '2026-01-01T01:00:00.000Z',
    });
    expect(missing).toBe(false);
    expect(await rawPathItem(unknown)).toBeNull();
  });

  it('recordDelivery notes which secret verified the latest delivery; a vanished path is a no-op', async () => {
    // Prepare
    const job = makeJob();
    const path = job.webhook_path as string;
    await jobs.create(job, { sealedSecret: 'sealed-1' });
    const unknown = newPath();

    // Act
    await webhooks.recordDelivery(path, 'previous');
    const afterPrevious = await webhooks.get(path);
    await webhooks.recordDelivery(path, 'current');
    const afterCurrent = await webhooks.get(path);
    await webhooks.recordDelivery(unknown, 'current');

    // Assess
    expect(afterPrevious?.lastSecretUsed).toBe('previous');
    expect(afterCurrent?.lastSecretUsed).toBe('current');
    expect(afterCurrent?.sealedSecret).toBe('sealed-1');
    expect(await rawPathItem(unknown)).toBeNull();
  });
});

describe('the path item carries its job', () => {
  it('as written by every job write, so a delivery reads one item', async () => {
    // Prepare
    const job = makeJob();
    const path = job.webhook_path as string;
    const created = await jobs.create(job, { sealedSecret: 'sealed-1' });

    // Act
    const atCreate = (await webhooks.get(path))?.job;
    const disabled = { ...job, enabled: false, prompt_template: 'Deploy {{ branch }} carefully' };
    await jobs.replace(disabled, created.version, job);
    const afterUpdate = (await webhooks.get(path))?.job;

    // Assess
    expect(atCreate).toEqual(job);
    expect(afterUpdate).toEqual(disabled);
  });
});

import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { BadRequestError } from '../../shared/domain/errors.js';
import { buildJobSpec, type Job, type TriggerType } from '../../shared/domain/job.js';
import { recordingDocuments } from '../support/recording-documents.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

let table: TestTable;
let store: DynamoJobStore;

beforeAll(async () => {
  table = await createTestTable('store');
  store = new DynamoJobStore(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.drop();
});

let clock = Date.parse('2026-01-01T00:00:00.000Z');
function makeJob(overrides: { trigger_type?: TriggerType; enabled?: boolean; name?: string } = {}): Job {
  const trigger = overrides.trigger_type ?? 'manual';
  const spec = buildJobSpec({
    name: overrides.name ?? 'job',
    trigger_type: trigger,
    prompt_template: 'Do {{ thing }}',
    ...(trigger === 'cron' && { cron_schedule: '0 9 * * *' }),
    enabled: overrides.enabled ?? true,
  });
  clock += 1000;
  const at = new Date(clock).toISOString();
  return { id: `job_${randomUUID()}`, ...spec, created_at: at, updated_at: at };
}

describe('DynamoJobStore', () => {
  it('creates, reads, replaces with the expected version and deletes a job', async () => {
    // Prepare
    const job = makeJob({ name: 'round trip' });
    const withOddJson = { ...job, config: { huge: 1e200, nested: { '': [null, 'ünïcødé', 0.1] } } };

    // Act
    const created = await store.create(withOddJson);
    const read = await store.get(job.id);
    const renamed = { ...withOddJson, name: 'renamed' };
    const replaced = await store.replace(renamed, created.version, withOddJson);
    const stale = await store.replace({ ...withOddJson, name: 'stale' }, created.version, withOddJson);
    const staleDelete = await store.delete(renamed, created.version);
    const deleted = await store.delete(renamed, 2);
    const deletedAgain = await store.delete(renamed, 2);
    const resurrect = await store.replace({ ...withOddJson, name: 'zombie' }, 2, renamed);

    // Assess
    expect(read).toEqual({ job: withOddJson, version: 1 });
    expect(replaced?.version).toBe(2);
    expect(stale).toBeNull();
    expect(staleDelete).toBe(false);
    expect(deleted).toBe(true);
    expect(deletedAgain).toBe(false);
    expect(resurrect).toBeNull();
    expect(await store.get(job.id)).toBeNull();
  });

  it('refuses to create a job whose id exists', async () => {
    // Prepare
    const job = makeJob();
    await store.create(job);

    // Act
    const second = store.create({ ...job, name: 'duplicate' });

    // Assess
    // The put runs in a transaction (with the entity reference), so DynamoDB cancels the transaction.
    await expect(second).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect((await store.get(job.id))?.job.name).toBe(job.name);
  });

  it('lets exactly one of several concurrent writers on the same version win', async () => {
    // Prepare
    const job = makeJob();
    await store.create(job);

    // Act
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, index) => store.replace({ ...job, name: `writer ${index}` }, 1, job)),
    );

    // Assess
    const winners = results.filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    expect((await store.get(job.id))?.job.name).toBe(winners[0]?.job.name);
  });

  describe('list', () => {
    let listTable: TestTable;
    let listStore: DynamoJobStore;
    const jobs: Job[] = [];

    beforeAll(async () => {
      listTable = await createTestTable('list');
      listStore = new DynamoJobStore(listTable.documents, listTable.tableName);
      const shapes: { trigger_type: TriggerType; enabled: boolean }[] = [
        { trigger_type: 'cron', enabled: true },
        { trigger_type: 'manual', enabled: false },
        { trigger_type: 'webhook', enabled: true },
        { trigger_type: 'cron', enabled: false },
        { trigger_type: 'manual', enabled: true },
        { trigger_type: 'cron', enabled: true },
        { trigger_type: 'webhook', enabled: false },
      ];
      for (const [index, shape] of shapes.entries()) {
        const job = makeJob({ ...shape, name: `job ${index}` });
        jobs.push(job);
        await listStore.create(job);
      }
    });

    afterAll(async () => {
      await listTable?.drop();
    });

    const newestFirst = (filter: (job: Job) => boolean) =>
      jobs
        .filter(filter)
        .map((job) => job.id)
        .reverse();

    async function walk(filter: { enabled?: boolean; trigger_type?: TriggerType }, limit: number) {
      const ids: string[] = [];
      const pageSizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await listStore.list({ ...filter, limit, ...(cursor && { cursor }) });
        ids.push(...page.jobs.map((job) => job.id));
        pageSizes.push(page.jobs.length);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return { ids, pageSizes };
    }

    it.each([
      ['no filter', {}, () => true],
      ['enabled', { enabled: true }, (job: Job) => job.enabled],
      ['disabled', { enabled: false }, (job: Job) => !job.enabled],
      ['cron', { trigger_type: 'cron' as const }, (job: Job) => job.trigger_type === 'cron'],
      [
        'enabled cron',
        { trigger_type: 'cron' as const, enabled: true },
        (job: Job) => job.trigger_type === 'cron' && job.enabled,
      ],
      [
        'disabled webhook',
        { trigger_type: 'webhook' as const, enabled: false },
        (job: Job) => job.trigger_type === 'webhook' && !job.enabled,
      ],
    ])(
      'pages through %s newest first, each job once, no empty last page',
      async (_name, filter, predicate) => {
        // Prepare
        const expected = newestFirst(predicate);

        // Act
        const byTwo = await walk(filter, 2);
        const all = await walk(filter, 100);

        // Assess
        expect(byTwo.ids).toEqual(expected);
        expect(all.ids).toEqual(expected);
        expect(byTwo.pageSizes.every((size) => size > 0 || expected.length === 0)).toBe(true);
        expect(all.pageSizes).toEqual([expected.length]);
      },
    );

    it.each([
      ['no filter', {}, () => true],
      [
        'enabled cron, filtered after the read',
        { trigger_type: 'cron' as const, enabled: true },
        (job: Job) => job.trigger_type === 'cron' && job.enabled,
      ],
      [
        'disabled webhook, filtered after the read',
        { trigger_type: 'webhook' as const, enabled: false },
        (job: Job) => job.trigger_type === 'webhook' && !job.enabled,
      ],
    ])(
      'reads at most its ceiling per request for %s, answering short pages whose cursor loses nothing',
      async (_name, filter, predicate) => {
        // Prepare
        const ceiling = { items: 2, queries: 100 };
        const recorder = recordingDocuments(listTable.documents);
        const bounded = new DynamoJobStore(recorder.client, listTable.tableName, ceiling);
        const ids: string[] = [];
        const scanned: number[] = [];
        let cursor: string | undefined;

        // Act
        do {
          const page = await bounded.list({ ...filter, limit: 100, ...(cursor && { cursor }) });
          scanned.push(recorder.take().reduce((sum, query) => sum + query.scanned, 0));
          ids.push(...page.jobs.map((job) => job.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor && scanned.length < 20);

        // Assess
        expect(ids).toEqual(newestFirst(predicate));
        expect(scanned.length).toBeGreaterThan(1);
        for (const count of scanned) expect(count).toBeLessThanOrEqual(ceiling.items);
      },
    );

    it('rejects a cursor it did not issue with a 400 error', async () => {
      // Prepare
      const forged = Buffer.from(JSON.stringify({ after: 'anything' })).toString('base64url');

      // Act
      const attempts = [forged, 'not-base64!', ''].map((cursor) => listStore.list({ limit: 2, cursor }));

      // Assess
      for (const attempt of attempts) await expect(attempt).rejects.toBeInstanceOf(BadRequestError);
    });

    it('reflects an enable toggle in the enabled index', async () => {
      // Prepare
      const target = jobs[1] as Job;
      const current = await listStore.get(target.id);

      // Act
      await listStore.replace({ ...target, enabled: true }, current?.version ?? 0, target);
      const enabled = await listStore.list({ enabled: true, limit: 100 });
      const disabled = await listStore.list({ enabled: false, limit: 100 });
      await listStore.replace({ ...target, enabled: false }, (current?.version ?? 0) + 1, {
        ...target,
        enabled: true,
      });

      // Assess
      expect(enabled.jobs.map((job) => job.id)).toContain(target.id);
      expect(disabled.jobs.map((job) => job.id)).not.toContain(target.id);
    });
  });

  describe('list page size', () => {
    let bigTable: TestTable;
    let bigStore: DynamoJobStore;
    const big: Job[] = [];
    const PAGE_BYTE_BUDGET = 4 * 1024 * 1024;

    beforeAll(async () => {
      bigTable = await createTestTable('big');
      bigStore = new DynamoJobStore(bigTable.documents, bigTable.tableName);
      // 20 jobs of about 250 KiB each (just under the 256 KiB a job may take): 5 MB in all.
      for (let index = 0; index < 20; index++) {
        const job = makeJob({ name: `big ${index}` });
        const padded = { ...job, config: { padding: `${index}`.padEnd(250 * 1024, 'x') } };
        big.push(padded);
        await bigStore.create(padded);
      }
    });

    afterAll(async () => {
      await bigTable?.drop();
    });

    it('stops a page before 4 MiB of jobs, and the cursor continues without loss or repeats', async () => {
      // Prepare
      const pages: Job[][] = [];
      let cursor: string | undefined;

      // Act
      do {
        const page = await bigStore.list({ limit: 100, ...(cursor && { cursor }) });
        pages.push(page.jobs);
        cursor = page.nextCursor ?? undefined;
      } while (cursor && pages.length < 20);

      // Assess
      const first = pages[0] ?? [];
      expect(first.length).toBeGreaterThan(1);
      expect(first.length).toBeLessThan(big.length);
      const firstBytes = first.reduce((sum, job) => sum + Buffer.byteLength(JSON.stringify(job), 'utf8'), 0);
      expect(firstBytes).toBeLessThanOrEqual(PAGE_BYTE_BUDGET);
      expect(pages.length).toBeGreaterThan(1);
      expect(pages.flat().map((job) => job.id)).toEqual(big.map((job) => job.id).reverse());
      expect(pages.flat()).toEqual([...big].reverse());
    });
  });

  it('stores the job as one document plus the index keys the list queries use', async () => {
    // Prepare
    const job = makeJob({ trigger_type: 'webhook', enabled: false });

    // Act
    await store.create(job);
    const raw = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: `JOB#${job.id}`, sk: 'JOB' } }),
    );

    // Assess
    const sortKey = `${job.created_at}#${job.id}`;
    expect(raw.Item).toEqual({
      pk: `JOB#${job.id}`,
      sk: 'JOB',
      gsi1pk: 'JOBS',
      gsi1sk: sortKey,
      gsi2pk: 'JOBS#TRIGGER#webhook',
      gsi2sk: sortKey,
      gsi3pk: 'JOBS#ENABLED#false',
      gsi3sk: sortKey,
      trigger_type: 'webhook',
      enabled: false,
      version: 1,
      doc: JSON.stringify(job),
    });
  });
});

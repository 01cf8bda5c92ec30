import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEntityStore } from '../../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import type { Entity } from '../../shared/domain/entity.js';
import { BadRequestError, type ErrorDetail, ValidationError } from '../../shared/domain/errors.js';
import { buildJobSpec, type EntityType, type Job } from '../../shared/domain/job.js';
import { makeEntity } from '../support/memory-stores.js';
import { recordingDocuments } from '../support/recording-documents.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

let clock = Date.parse('2026-02-01T00:00:00.000Z');
const tick = () => {
  clock += 1000;
  return new Date(clock).toISOString();
};

function entity(overrides: Partial<Entity> = {}): Entity {
  const at = tick();
  return makeEntity({ id: `agent-${randomUUID()}`, created_at: at, updated_at: at, ...overrides });
}

/** A job naming `entityId` as an entity of `type` (a predefined mode of that type). */
function jobNaming(entityId: string, type: EntityType = 'agent'): Job {
  const spec = buildJobSpec({
    name: 'job',
    trigger_type: 'manual',
    prompt_template: 'Do it',
    planning_mode: `predefined_${type}`,
    entity_type: type,
    entity_id: entityId,
  });
  const at = tick();
  return { id: `job_${randomUUID()}`, ...spec, created_at: at, updated_at: at };
}

/** The ValidationError details a rejected job write carries. */
async function validationDetails(write: Promise<unknown>): Promise<ErrorDetail[]> {
  const error = await write.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).details;
}

describe('DynamoEntityStore', () => {
  let table: TestTable;
  let entities: DynamoEntityStore;
  let jobs: DynamoJobStore;

  beforeAll(async () => {
    table = await createTestTable('entities');
    entities = new DynamoEntityStore(table.documents, table.tableName);
    jobs = new DynamoJobStore(table.documents, table.tableName);
  });

  afterAll(async () => {
    await table?.drop();
  });

  it('creates an entity and reads it back with its sealed secret and version 1', async () => {
    // Prepare
    const http = entity({
      name: 'Deploy bot',
      description: 'Ships things',
      target: { type: 'http', url: 'https://agent.example.com/run', timeout_seconds: 30 },
    });
    const echo = entity({ type: 'team' });

    // Act
    const createdHttp = await entities.create(http, 'sealed-secret-1');
    const createdEcho = await entities.create(echo, null);
    const readHttp = await entities.get(http.id);
    const readEcho = await entities.get(echo.id);

    // Assess
    expect(createdHttp).toBe(true);
    expect(createdEcho).toBe(true);
    expect(readHttp).toEqual({ entity: http, version: 1, sealedSecret: 'sealed-secret-1' });
    expect(readEcho).toEqual({ entity: echo, version: 1, sealedSecret: null });
    expect(await entities.get(`missing-${randomUUID()}`)).toBeNull();
  });

  it('answers false for an id that exists and keeps the first entity', async () => {
    // Prepare
    const first = entity({ name: 'first' });
    await entities.create(first, null);

    // Act
    const second = await entities.create({ ...first, name: 'second', default: true }, 'other');

    // Assess
    expect(second).toBe(false);
    expect(await entities.get(first.id)).toEqual({ entity: first, version: 1, sealedSecret: null });
  });

  it('replaces on the expected version only, and keeps the job reference count', async () => {
    // Prepare
    const agent = entity();
    await entities.create(agent, null);
    const job = jobNaming(agent.id);
    await jobs.create(job);

    // Act
    const renamed = await entities.replace({ ...agent, name: 'renamed' }, 'sealed', 1);
    const stale = await entities.replace({ ...agent, name: 'stale' }, null, 1);
    const missing = await entities.replace(entity(), null, 1);
    const deleteWhileReferenced = await entities.delete(agent.id);

    // Assess
    expect(renamed).toEqual({ entity: { ...agent, name: 'renamed' }, version: 2, sealedSecret: 'sealed' });
    expect(stale).toBeNull();
    expect(missing).toBeNull();
    expect(await entities.get(agent.id)).toEqual(renamed);
    expect(await entities.referenceCount(agent.id)).toBe(1);
    expect(deleteWhileReferenced).toBe('referenced');
  });

  describe('delete and job references', () => {
    it('answers not_found for an entity that does not exist', async () => {
      // Prepare
      const id = `missing-${randomUUID()}`;

      // Act
      const outcome = await entities.delete(id);

      // Assess
      expect(outcome).toBe('not_found');
    });

    it('answers referenced while a job names the entity, and deletes it once the job is gone', async () => {
      // Prepare
      const agent = entity();
      await entities.create(agent, null);
      const job = jobNaming(agent.id);
      const created = await jobs.create(job);

      // Act
      const whileReferenced = await entities.delete(agent.id);
      const jobDeleted = await jobs.delete(job, created.version);
      const countAfter = await entities.referenceCount(agent.id);
      const afterJobDeleted = await entities.delete(agent.id);
      const again = await entities.delete(agent.id);

      // Assess
      expect(whileReferenced).toBe('referenced');
      expect(await entities.get(agent.id)).toBeNull();
      expect(jobDeleted).toBe(true);
      expect(countAfter).toBe(0);
      expect(afterJobDeleted).toBe('deleted');
      expect(again).toBe('not_found');
    });

    it('counts every job naming the entity', async () => {
      // Prepare
      const agent = entity();
      await entities.create(agent, null);
      const first = jobNaming(agent.id);
      const second = jobNaming(agent.id);

      // Act
      await jobs.create(first);
      await jobs.create(second);
      const withTwo = await entities.referenceCount(agent.id);
      await jobs.delete(first, 1);
      const withOne = await entities.referenceCount(agent.id);
      const outcome = await entities.delete(agent.id);

      // Assess
      expect(withTwo).toBe(2);
      expect(withOne).toBe(1);
      expect(outcome).toBe('referenced');
    });

    it('refuses a job naming an entity that does not exist: 422 on entity_id, nothing written', async () => {
      // Prepare
      const job = jobNaming(`missing-${randomUUID()}`);

      // Act
      const details = await validationDetails(jobs.create(job));

      // Assess
      expect(details).toEqual([expect.objectContaining({ path: 'entity_id', code: 'unknown_entity' })]);
      expect(await jobs.get(job.id)).toBeNull();
    });

    it('refuses a job naming an entity of another type: 422 on entity_id, no reference counted', async () => {
      // Prepare
      const agent = entity({ type: 'agent' });
      await entities.create(agent, null);
      const job = jobNaming(agent.id, 'team');

      // Act
      const details = await validationDetails(jobs.create(job));

      // Assess
      expect(details.map((detail) => detail.path)).toEqual(['entity_id']);
      expect(await jobs.get(job.id)).toBeNull();
      expect(await entities.referenceCount(agent.id)).toBe(0);
    });

    it('moves the reference when a job update names another entity, after which the old one deletes', async () => {
      // Prepare
      const before = entity();
      const after = entity();
      await entities.create(before, null);
      await entities.create(after, null);
      const job = jobNaming(before.id);
      await jobs.create(job);
      const moved = { ...job, entity_id: after.id };

      // Act
      const written = await jobs.replace(moved, 1, job);
      const counts = [await entities.referenceCount(before.id), await entities.referenceCount(after.id)];
      const deleteOld = await entities.delete(before.id);
      const deleteNew = await entities.delete(after.id);

      // Assess
      expect(written?.version).toBe(2);
      expect(counts).toEqual([0, 1]);
      expect(deleteOld).toBe('deleted');
      expect(deleteNew).toBe('referenced');
    });

    it('keeps the count when an update leaves the entity as it is', async () => {
      // Prepare
      const agent = entity();
      await entities.create(agent, null);
      const job = jobNaming(agent.id);
      await jobs.create(job);

      // Act
      await jobs.replace({ ...job, name: 'renamed' }, 1, job);

      // Assess
      expect(await entities.referenceCount(agent.id)).toBe(1);
    });

    it('refuses an update moving to a missing entity and leaves the job and both counts as they were', async () => {
      // Prepare
      const agent = entity();
      await entities.create(agent, null);
      const job = jobNaming(agent.id);
      await jobs.create(job);

      // Act
      const details = await validationDetails(
        jobs.replace({ ...job, entity_id: `missing-${randomUUID()}` }, 1, job),
      );

      // Assess
      expect(details.map((detail) => detail.path)).toEqual(['entity_id']);
      expect(await jobs.get(job.id)).toEqual({ job, version: 1 });
      expect(await entities.referenceCount(agent.id)).toBe(1);
    });

    it('leaves the count alone when a stale job update or delete loses', async () => {
      // Prepare
      const first = entity();
      const second = entity();
      await entities.create(first, null);
      await entities.create(second, null);
      const job = jobNaming(first.id);
      await jobs.create(job);

      // Act
      const staleUpdate = await jobs.replace({ ...job, entity_id: second.id }, 7, job);
      const staleDelete = await jobs.delete(job, 7);

      // Assess
      expect(staleUpdate).toBeNull();
      expect(staleDelete).toBe(false);
      expect(await entities.referenceCount(first.id)).toBe(1);
      expect(await entities.referenceCount(second.id)).toBe(0);
    });
  });
});

describe('DynamoEntityStore list', () => {
  let table: TestTable;
  let entities: DynamoEntityStore;
  const created: Entity[] = [];

  beforeAll(async () => {
    table = await createTestTable('entity-list');
    entities = new DynamoEntityStore(table.documents, table.tableName);
    for (let index = 0; index < 5; index++) {
      const next = entity({ id: `entity-${index}`, name: `entity ${index}`, default: index === 2 });
      created.push(next);
      await entities.create(next, null);
    }
  });

  afterAll(async () => {
    await table?.drop();
  });

  it('walks every entity newest first, each once, the last page with a null cursor', async () => {
    // Prepare
    const pages: Entity[][] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | undefined;

    // Act
    do {
      const page = await entities.list({ limit: 2, ...(cursor !== undefined && { cursor }) });
      pages.push(page.entities);
      cursors.push(page.nextCursor);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && pages.length < 10);
    const all = await entities.list({ limit: 100 });

    // Assess
    expect(pages.map((page) => page.map((item) => item.id))).toEqual([
      ['entity-4', 'entity-3'],
      ['entity-2', 'entity-1'],
      ['entity-0'],
    ]);
    expect(cursors.map((value) => value === null)).toEqual([false, false, true]);
    expect(all.entities).toEqual([...created].reverse());
    expect(all.entities.filter((item) => item.default).map((item) => item.id)).toEqual(['entity-2']);
    expect(all.nextCursor).toBeNull();
  });

  it('reads at most its ceiling per request and still gives a cursor when a page is cut short', async () => {
    // Prepare
    const ceiling = { items: 3, queries: 100 };
    const recorder = recordingDocuments(table.documents);
    const bounded = new DynamoEntityStore(recorder.client, table.tableName, ceiling);
    const pages: string[][] = [];
    const scanned: number[] = [];
    let cursor: string | undefined;

    // Act
    do {
      const page = await bounded.list({ limit: 100, ...(cursor !== undefined && { cursor }) });
      scanned.push(recorder.take().reduce((sum, query) => sum + query.scanned, 0));
      pages.push(page.entities.map((item) => item.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && pages.length < 10);

    // Assess
    expect(pages).toEqual([
      ['entity-4', 'entity-3', 'entity-2'],
      ['entity-1', 'entity-0'],
    ]);
    for (const count of scanned) expect(count).toBeLessThanOrEqual(ceiling.items);
  });

  it('rejects a cursor it did not issue with a 400 error', async () => {
    // Prepare
    const forged = [Buffer.from('{"after":"nope"}').toString('base64url'), 'not-base64!'];

    // Act
    const attempts = forged.map((cursor) => entities.list({ limit: 2, cursor }));

    // Assess
    for (const attempt of attempts) await expect(attempt).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe('DynamoEntityStore default pointer', () => {
  let table: TestTable;
  let entities: DynamoEntityStore;

  beforeAll(async () => {
    table = await createTestTable('entity-default');
    entities = new DynamoEntityStore(table.documents, table.tableName);
  });

  afterAll(async () => {
    await table?.drop();
  });

  const defaults = async () =>
    (await entities.list({ limit: 100 })).entities.filter((item) => item.default).map((item) => item.id);

  it('keeps exactly one default as it is created, moved, cleared and deleted', async () => {
    // Prepare
    const first = entity({ id: 'first', default: true });
    const second = entity({ id: 'second', default: true });
    const plain = entity({ id: 'plain' });

    // Act + Assess, step by step: each step's outcome depends on the one before.
    expect(await entities.getDefault()).toBeNull();

    await entities.create(first, null);
    expect((await entities.getDefault())?.entity.id).toBe('first');

    await entities.create(second, null);
    expect((await entities.getDefault())?.entity).toEqual(second);
    expect((await entities.get('first'))?.entity.default).toBe(false);
    expect(await defaults()).toEqual(['second']);

    await entities.create(plain, null);
    expect(await defaults()).toEqual(['second']);

    // Moving it back by an update.
    const firstStored = await entities.get('first');
    await entities.replace({ ...first, default: true }, null, firstStored?.version ?? 0);
    expect((await entities.getDefault())?.entity.id).toBe('first');
    expect(await defaults()).toEqual(['first']);

    // An update of another entity with default:false leaves the pointer where it is.
    await entities.replace({ ...second, default: false, name: 'renamed' }, null, 1);
    expect((await entities.getDefault())?.entity.id).toBe('first');

    // default:false on the default entity clears it.
    await entities.replace({ ...first, default: false }, null, 2);
    expect(await entities.getDefault()).toBeNull();
    expect(await defaults()).toEqual([]);

    // Deleting the default entity clears it too.
    await entities.replace({ ...plain, default: true }, null, 1);
    expect((await entities.getDefault())?.entity.id).toBe('plain');
    expect(await entities.delete('plain')).toBe('deleted');
    expect(await entities.getDefault()).toBeNull();

    // Deleting a non-default entity leaves the default alone.
    await entities.replace({ ...second, default: true }, null, 2);
    expect(await entities.delete('first')).toBe('deleted');
    expect((await entities.getDefault())?.entity.id).toBe('second');
  });

  it('stores default only as the pointer, never on the entity item', async () => {
    // Prepare
    const marked = entity({ default: true });

    // Act
    await entities.create(marked, null);
    const raw = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: `ENTITY#${marked.id}`, sk: 'ENTITY' } }),
    );

    // Assess
    expect(JSON.parse(String(raw.Item?.doc))).not.toHaveProperty('default');
    expect((await entities.getDefault())?.entity.id).toBe(marked.id);
  });

  it('shares one target read among the runs asking while it is in flight, and not across its own write', async () => {
    // Prepare: a store counting the GetItems it sends.
    let reads = 0;
    const counting = {
      send: (command: Parameters<typeof table.documents.send>[0]) => {
        if (command instanceof GetCommand) reads++;
        return table.documents.send(command as never);
      },
    } as unknown as typeof table.documents;
    const store = new DynamoEntityStore(counting, table.tableName);
    const made = entity({ target: { type: 'http', url: 'https://agent.example.com/one' } });
    await store.create(made, null);
    reads = 0;

    // Act: ten runs at once; then a write of the entity while a read is in flight, and a read after it.
    const together = await Promise.all(Array.from({ length: 10 }, () => store.getTarget(made.id)));
    const readsTogether = reads;
    const before = store.getTarget(made.id);
    const moved = { ...made, target: { type: 'http' as const, url: 'https://agent.example.com/two' } };
    await store.replace(moved, null, 1);
    const after = await store.getTarget(made.id);
    await before;

    // Assess
    expect(readsTogether).toBe(1);
    expect(together.every((record) => record?.entity.target.type === 'http')).toBe(true);
    expect(after?.entity.target).toEqual(moved.target);
  });
});

describe('what runs read of entities', () => {
  it('reads the default entity’s id and type from its pointer, and an entity’s target in one read each', async () => {
    // Prepare: its own table, since there is one default per deployment.
    const own = await createTestTable('entity-refs');
    try {
      const ownStore = new DynamoEntityStore(own.documents, own.tableName);
      const none = await ownStore.defaultRef();
      const made = entity({
        type: 'team',
        default: true,
        target: { type: 'http', url: 'https://agent.example.com/run' },
      });
      await ownStore.create(made, 'sealed-secret');

      // Act
      const ref = await ownStore.defaultRef();
      const target = await ownStore.getTarget(made.id);
      const missing = await ownStore.getTarget(`${made.id}-gone`);

      // Assess
      expect(none).toBeNull();
      expect(ref).toEqual({ id: made.id, type: 'team' });
      expect(target).toEqual({
        entity: { id: made.id, type: 'team', name: made.name, target: made.target },
        sealedSecret: 'sealed-secret',
      });
      expect(missing).toBeNull();
    } finally {
      await own.drop();
    }
  });
});

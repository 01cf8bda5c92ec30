import { BadRequestError, ValidationError } from '../../shared/domain/errors.js';
import type { Job, JobListFilter } from '../../shared/domain/job.js';
import type { JobPage, JobStore, VersionedJob } from '../../shared/ports.js';
import type { MemoryEntityStore } from './memory-stores.js';

/** Called by `MemoryJobStore.replace` before it checks the version; writes made inside it do not re-trigger it. */
export type BeforeReplaceHook = (job: Job, expectedVersion: number) => Promise<void>;

/** Thrown by `MemoryJobStore.create` for an id that exists, where DynamoDB fails its conditional put. */
export class DuplicateJobError extends Error {
  constructor(id: string) {
    super(`Job ${id} already exists`);
    this.name = 'DuplicateJobError';
  }
}

interface StoredJob {
  /** JSON text, as the DynamoDB adapter keeps it: callers never share objects with the store. */
  doc: string;
  version: number;
}

// Same shape as the DynamoDB adapter's list sort key and cursor, so tests see the same contract.
const listSortKey = (job: Pick<Job, 'created_at' | 'id'>) => `${job.created_at}#${job.id}`;
const SORT_KEY_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(job_[0-9a-f-]{36})$/;

/**
 * An in-memory `JobStore` with the DynamoDB adapter's semantics: conditional create, replace and
 * delete (a stale version or a deleted job is a conflict, never an overwrite or a resurrection), and
 * lists newest first by `created_at#id` with an opaque cursor that is null on the last page. Given a
 * `MemoryEntityStore`, a job naming an entity must name an existing one of its type (422 otherwise) and
 * counts as a reference to it, as the adapter's transaction does.
 */
export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, StoredJob>();
  private inHook = false;

  constructor(private readonly options: { entities?: MemoryEntityStore } = {}) {}

  /** Lets a test slip a concurrent write (or delete) in between a caller's read and its conditional write. */
  beforeReplace: BeforeReplaceHook | undefined;

  /** Every call to `replace`, successful or not. */
  replaceCalls = 0;

  async create(job: Job): Promise<VersionedJob> {
    if (this.jobs.has(job.id)) throw new DuplicateJobError(job.id);
    this.moveEntityReference(null, job);
    this.jobs.set(job.id, { doc: JSON.stringify(job), version: 1 });
    return { job: copy(job), version: 1 };
  }

  async get(id: string): Promise<VersionedJob | null> {
    const stored = this.jobs.get(id);
    return stored ? { job: JSON.parse(stored.doc) as Job, version: stored.version } : null;
  }

  async replace(job: Job, expectedVersion: number, previous: Job): Promise<VersionedJob | null> {
    this.replaceCalls++;
    const hook = this.beforeReplace;
    if (hook && !this.inHook) {
      this.inHook = true;
      try {
        await hook(copy(job), expectedVersion);
      } finally {
        this.inHook = false;
      }
    }
    const stored = this.jobs.get(job.id);
    // Absent or stale: the caller must re-read; a job deleted meanwhile stays deleted.
    if (!stored || stored.version !== expectedVersion) return null;
    this.moveEntityReference(previous, job);
    const version = expectedVersion + 1;
    this.jobs.set(job.id, { doc: JSON.stringify(job), version });
    return { job: copy(job), version };
  }

  async delete(job: Job, expectedVersion: number): Promise<boolean> {
    const stored = this.jobs.get(job.id);
    if (!stored || stored.version !== expectedVersion) return false;
    this.moveEntityReference(job, null);
    return this.jobs.delete(job.id);
  }

  /**
   * Moves the job's entity reference from `before` to `after` (either may be null), taking the new one
   * first so a missing entity leaves every count as it was. Throws the adapter's 422 for a bad entity.
   */
  private moveEntityReference(before: Job | null, after: Job | null): void {
    const entities = this.options.entities;
    if (!entities) return;
    const beforeId = before?.entity_id ?? null;
    const afterId = after?.entity_id ?? null;
    if (beforeId === afterId && before?.entity_type === after?.entity_type) return;
    if (after !== null && afterId !== null && !entities.reference(afterId, after.entity_type)) {
      throw new ValidationError([
        {
          path: 'entity_id',
          message: `no ${after.entity_type ?? ''} entity "${afterId}" exists; create it with POST /entities first`,
          code: 'unknown_entity',
        },
      ]);
    }
    if (beforeId !== null) entities.release(beforeId);
  }

  async list(filter: JobListFilter): Promise<JobPage> {
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    const matching = [...this.jobs.values()]
      .map((stored) => JSON.parse(stored.doc) as Job)
      .filter((job) => filter.trigger_type === undefined || job.trigger_type === filter.trigger_type)
      .filter((job) => filter.enabled === undefined || job.enabled === filter.enabled)
      .filter((job) => after === undefined || listSortKey(job) < after)
      .sort((a, b) => compareDescending(listSortKey(a), listSortKey(b)));
    const jobs = matching.slice(0, filter.limit);
    const last = jobs.at(-1);
    const nextCursor = matching.length > filter.limit && last ? encodeCursor(listSortKey(last)) : null;
    return { jobs, nextCursor };
  }

  /** Number of stored jobs. */
  get size(): number {
    return this.jobs.size;
  }
}

function copy(job: Job): Job {
  return JSON.parse(JSON.stringify(job)) as Job;
}

function compareDescending(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? 1 : -1;
}

function encodeCursor(sortKey: string): string {
  return Buffer.from(JSON.stringify({ after: sortKey }), 'utf8').toString('base64url');
}

/** Accepts only cursors this store issued, and rejects the rest as the DynamoDB adapter does. */
function decodeCursor(cursor: string): string {
  let sortKey: unknown;
  try {
    sortKey = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    sortKey = undefined;
  }
  if (typeof sortKey !== 'string' || !SORT_KEY_PATTERN.test(sortKey)) {
    throw new BadRequestError(
      'cursor is not a cursor this service issued; pass next_cursor as returned.',
      'invalid_cursor',
      [{ path: 'cursor', message: 'is not a cursor this service issued', code: 'invalid_cursor' }],
    );
  }
  return sortKey;
}

import type { Entity } from '../../shared/domain/entity.js';
import { BadRequestError } from '../../shared/domain/errors.js';
import { type Execution, isTerminal } from '../../shared/domain/execution.js';
import type { EntityType } from '../../shared/domain/job.js';
import { runSettings } from '../../shared/domain/run-config.js';
import type {
  Clock,
  DeploymentConfig,
  EntityPage,
  EntityStore,
  EntityTargetRecord,
  ExecutionChange,
  ExecutionPage,
  ExecutionStore,
  IdGenerator,
  JobSchedule,
  MetricName,
  Metrics,
  RecentExecutionPage,
  RecentExecutionQuery,
  RunMessage,
  RunQueue,
  Scheduler,
  ScheduleState,
  SecretBox,
  StartRunOutcome,
  StartRunRequest,
  StoredEntity,
  StoredExecution,
  TransitionResult,
  WebhookRecord,
  WebhookStore,
} from '../../shared/ports.js';

// ── Entities ────────────────────────────────────────────────────────────────────────────────────────

interface EntityRecord {
  /** The entity without `default`, as JSON text: the default is a separate pointer, as in DynamoDB. */
  doc: string;
  version: number;
  sealedSecret: string | null;
  /** How many jobs name the entity; kept by `MemoryJobStore` when it is given this store. */
  jobRefs: number;
}

const ENTITY_SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(.+)$/;
const entitySortKey = (entity: Pick<Entity, 'created_at' | 'id'>) => `${entity.created_at}#${entity.id}`;

/**
 * An in-memory `EntityStore` with the DynamoDB adapter's semantics: one default pointer (so there is never
 * more than one default), conditional replace, and delete refused while jobs reference the entity.
 */
export class MemoryEntityStore implements EntityStore {
  private readonly records = new Map<string, EntityRecord>();
  private defaultId: string | null = null;

  async create(entity: Entity, sealedSecret: string | null): Promise<boolean> {
    if (this.records.has(entity.id)) return false;
    this.records.set(entity.id, { doc: docOf(entity), version: 1, sealedSecret, jobRefs: 0 });
    if (entity.default) this.defaultId = entity.id;
    return true;
  }

  async get(id: string): Promise<StoredEntity | null> {
    return this.stored(id);
  }

  async list(options: { limit: number; cursor?: string }): Promise<EntityPage> {
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, ENTITY_SORT_KEY)[0];
    const matching = [...this.records.keys()]
      .map((id) => this.stored(id)?.entity as Entity)
      .filter((entity) => after === undefined || entitySortKey(entity) < after)
      .sort((a, b) => compareDescending(entitySortKey(a), entitySortKey(b)));
    const entities = matching.slice(0, options.limit);
    const last = entities.at(-1);
    return {
      entities,
      nextCursor: matching.length > options.limit && last ? encodeCursor(entitySortKey(last)) : null,
    };
  }

  async replace(
    entity: Entity,
    sealedSecret: string | null,
    expectedVersion: number,
  ): Promise<StoredEntity | null> {
    const record = this.records.get(entity.id);
    if (!record || record.version !== expectedVersion) return null;
    const version = expectedVersion + 1;
    this.records.set(entity.id, { ...record, doc: docOf(entity), version, sealedSecret });
    if (entity.default) this.defaultId = entity.id;
    else if (this.defaultId === entity.id) this.defaultId = null;
    return { entity: copy(entity), version, sealedSecret };
  }

  async delete(id: string): Promise<'deleted' | 'not_found' | 'referenced'> {
    const record = this.records.get(id);
    if (!record) return 'not_found';
    if (record.jobRefs > 0) return 'referenced';
    this.records.delete(id);
    if (this.defaultId === id) this.defaultId = null;
    return 'deleted';
  }

  async getDefault(): Promise<StoredEntity | null> {
    return this.defaultId === null ? null : this.stored(this.defaultId);
  }

  async defaultRef(): Promise<{ id: string; type: Entity['type'] } | null> {
    const stored = await this.getDefault();
    return stored ? { id: stored.entity.id, type: stored.entity.type } : null;
  }

  async getTarget(id: string): Promise<EntityTargetRecord | null> {
    const stored = this.stored(id);
    if (!stored) return null;
    const { entity } = stored;
    return {
      entity: { id: entity.id, type: entity.type, name: entity.name, target: entity.target },
      sealedSecret: stored.sealedSecret,
    };
  }

  /** Counts a job's reference, if the entity exists with that type (the DynamoDB condition); false otherwise. */
  reference(id: string, type: EntityType | null): boolean {
    const record = this.records.get(id);
    if (!record || (JSON.parse(record.doc) as Entity).type !== type) return false;
    record.jobRefs++;
    return true;
  }

  /** Drops a job's reference (a missing entity is fine: it was never counted). */
  release(id: string): void {
    const record = this.records.get(id);
    if (record) record.jobRefs--;
  }

  /** How many jobs name the entity. */
  references(id: string): number {
    return this.records.get(id)?.jobRefs ?? 0;
  }

  get size(): number {
    return this.records.size;
  }

  private stored(id: string): StoredEntity | null {
    const record = this.records.get(id);
    if (!record) return null;
    const doc = JSON.parse(record.doc) as Omit<Entity, 'default'>;
    return {
      entity: { ...doc, default: id === this.defaultId },
      version: record.version,
      sealedSecret: record.sealedSecret,
    };
  }
}

function docOf(entity: Entity): string {
  const { default: _default, ...doc } = entity;
  return JSON.stringify(doc);
}

/** A complete entity for tests: an echo agent unless told otherwise. */
export function makeEntity(overrides: Partial<Entity> & { id: string }): Entity {
  return {
    type: 'agent',
    name: overrides.id,
    description: null,
    target: { type: 'echo' },
    default: false,
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

// ── Executions ──────────────────────────────────────────────────────────────────────────────────────

interface ExecutionRecord {
  doc: string;
  callbackTokenHash: string;
  leaseUntil: string | null;
  exclusive: boolean;
  configOverride?: Record<string, unknown> | null;
}

const EXECUTION_ID = /^(exec_[0-9a-z]{9}[0-9a-f]{20})$/;
const executionKey = (jobId: string, executionId: string) => `${jobId}#${executionId}`;

/**
 * An in-memory `ExecutionStore` with the DynamoDB adapter's semantics: `start` applies the dedupe
 * marker and the overlap lock (taken over from a finished holder) at once; `claim` and `transition` are
 * conditional and answer, when their condition fails, the run as it stands.
 */
export class MemoryExecutionStore implements ExecutionStore {
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly dedupe = new Map<string, string>();
  private readonly locks = new Map<string, string>();
  private checkpoint: Date | null = null;

  /** Every call to `transition` or `claim`, whether its condition held or not. */
  transitionCalls = 0;

  async start(request: StartRunRequest): Promise<StartRunOutcome> {
    const { execution } = request;
    const jobId = execution.job_id;
    // From here on no await: the checks and writes below are one atomic step.
    if (request.dedupeKey !== undefined) {
      const first = this.dedupe.get(executionKey(jobId, request.dedupeKey));
      const firstExecution = first === undefined ? null : this.executionOf(jobId, first);
      if (firstExecution) return { kind: 'duplicate', execution: firstExecution };
    }
    if (request.exclusive) {
      const holder = this.locks.get(jobId);
      const holding = holder === undefined ? null : this.executionOf(jobId, holder);
      if (holding && !isTerminal(holding.status)) {
        const skipped: Execution = { ...execution, status: 'skipped', finished_at: execution.created_at };
        this.write({ ...request, exclusive: false }, skipped);
        return { kind: 'skipped', execution: copy(skipped) };
      }
    }
    this.write(request, execution);
    return { kind: 'started', execution: copy(execution) };
  }

  async get(jobId: string, executionId: string): Promise<StoredExecution | null> {
    const record = this.records.get(executionKey(jobId, executionId));
    return record ? storedOf(record) : null;
  }

  async findByDedupeKey(jobId: string, dedupeKey: string): Promise<Execution | null> {
    const first = this.dedupe.get(executionKey(jobId, dedupeKey));
    return first === undefined ? null : this.executionOf(jobId, first);
  }

  async list(
    jobId: string,
    options: { limit: number; offset: number; cursor?: string },
  ): Promise<ExecutionPage> {
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, EXECUTION_ID)[1];
    const all = this.all().filter((execution) => execution.job_id === jobId);
    const matching = all.filter(
      (execution) => after === undefined || execution.execution_id < (after as string),
    );
    const executions = matching.slice(options.offset, options.offset + options.limit);
    const last = executions.at(-1);
    const more = matching.length > options.offset + options.limit;
    return {
      executions,
      nextCursor: more && last ? encodeCursor(last.execution_id) : null,
      totalCount: all.length,
    };
  }

  async listRecent(options: RecentExecutionQuery): Promise<RecentExecutionPage> {
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, EXECUTION_ID)[1];
    const matching = this.all()
      .filter((execution) => after === undefined || execution.execution_id < (after as string))
      .filter((execution) => options.jobId === undefined || execution.job_id === options.jobId)
      .filter((execution) => !options.statuses?.length || options.statuses.includes(execution.status));
    const executions = matching.slice(0, options.limit);
    const last = executions.at(-1);
    return {
      executions,
      nextCursor: matching.length > options.limit && last ? encodeCursor(last.execution_id) : null,
    };
  }

  async claim(
    jobId: string,
    executionId: string,
    claim: { attempt: number; now: Date; leaseUntil: string; callbackTokenHash: string },
  ): Promise<TransitionResult> {
    const record = this.records.get(executionKey(jobId, executionId));
    const execution = record ? (JSON.parse(record.doc) as Execution) : null;
    const first = claim.attempt === 1;
    return this.transition(
      jobId,
      executionId,
      { from: ['queued'], attempt: claim.attempt },
      {
        status: 'running',
        leaseUntil: claim.leaseUntil,
        callbackTokenHash: claim.callbackTokenHash,
        ...(first &&
          execution && {
            started_at: claim.now.toISOString(),
            deadline_at: new Date(
              claim.now.getTime() + runSettings(execution.config).timeoutSeconds * 1000,
            ).toISOString(),
            lateness_ms:
              execution.scheduled_at === null
                ? null
                : Math.max(0, claim.now.getTime() - Date.parse(execution.scheduled_at)),
          }),
      },
    );
  }

  async transition(
    jobId: string,
    executionId: string,
    condition: { from: readonly Execution['status'][]; attempt?: number; leaseExpiredBefore?: string },
    change: ExecutionChange,
  ): Promise<TransitionResult> {
    this.transitionCalls++;
    const record = this.records.get(executionKey(jobId, executionId));
    if (!record) return { ok: false, current: null };
    const execution = JSON.parse(record.doc) as Execution;
    const failed = { ok: false as const, current: storedOf(record) };
    if (!condition.from.includes(execution.status)) return failed;
    if (condition.attempt !== undefined && execution.attempt !== condition.attempt) return failed;
    if (
      condition.leaseExpiredBefore !== undefined &&
      execution.status === 'running' &&
      record.leaseUntil !== null &&
      record.leaseUntil >= condition.leaseExpiredBefore
    ) {
      return failed;
    }
    const { leaseUntil, callbackTokenHash, ...fields } = change;
    const next: Execution = { ...execution, ...fields };
    record.doc = JSON.stringify(next);
    if (leaseUntil !== undefined) record.leaseUntil = leaseUntil;
    if (callbackTokenHash !== undefined) record.callbackTokenHash = callbackTokenHash;
    return { ok: true, execution: copy(next) };
  }

  async findUnsent(window: { from: Date; to: Date }): Promise<{ executions: Execution[]; scannedTo: Date }> {
    const executions = this.all()
      .filter((execution) => execution.status === 'queued' && execution.attempt === 1)
      .filter((execution) => {
        const created = Date.parse(execution.created_at);
        return created >= window.from.getTime() && created < window.to.getTime();
      })
      .reverse();
    return { executions, scannedTo: window.to };
  }

  async sweepCheckpoint(): Promise<Date | null> {
    return this.checkpoint;
  }

  async saveSweepCheckpoint(at: Date): Promise<void> {
    this.checkpoint = at;
  }

  async upgrade(): Promise<boolean> {
    return true;
  }

  /** The execution holding the job's overlap lock, if any. */
  lockHolder(jobId: string): string | null {
    return this.locks.get(jobId) ?? null;
  }

  /** Every execution, newest first. */
  private all(): Execution[] {
    return [...this.records.values()]
      .map((record) => JSON.parse(record.doc) as Execution)
      .sort((a, b) => compareDescending(a.execution_id, b.execution_id));
  }

  private write(request: StartRunRequest, execution: Execution): void {
    const jobId = execution.job_id;
    if (request.dedupeKey !== undefined) {
      this.dedupe.set(executionKey(jobId, request.dedupeKey), execution.execution_id);
    }
    if (request.exclusive) this.locks.set(jobId, execution.execution_id);
    this.records.set(executionKey(jobId, execution.execution_id), {
      doc: JSON.stringify(execution),
      callbackTokenHash: '',
      leaseUntil: null,
      exclusive: request.exclusive,
      ...(request.configOverride !== undefined && { configOverride: request.configOverride }),
    });
  }

  private executionOf(jobId: string, executionId: string): Execution | null {
    const record = this.records.get(executionKey(jobId, executionId));
    return record ? (JSON.parse(record.doc) as Execution) : null;
  }
}

function storedOf(record: ExecutionRecord): StoredExecution {
  return {
    execution: JSON.parse(record.doc) as Execution,
    callbackTokenHash: record.callbackTokenHash,
    leaseUntil: record.leaseUntil,
    exclusive: record.exclusive,
    ...(record.configOverride !== undefined && { configOverride: record.configOverride }),
  };
}

// ── Queue, secrets, deployment, clock, ids ──────────────────────────────────────────────────────────

export interface SentMessage {
  queue: string;
  message: RunMessage;
  delaySeconds: number | undefined;
}

/** A `RunQueue` that records what it is sent; set `failure` to make every send throw it. */
export class RecordingQueue implements RunQueue {
  readonly sent: SentMessage[] = [];
  failure: Error | null = null;

  async send(queue: string, message: RunMessage, delaySeconds?: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.sent.push({ queue, message: { ...message }, delaySeconds });
  }
}

/** `Metrics` that keeps what it is told to count and to time. */
export class RecordingMetrics implements Metrics {
  readonly counted: { name: MetricName; dimensions: Readonly<Record<string, string>> }[] = [];
  readonly timed: { name: MetricName; milliseconds: number; dimensions: Readonly<Record<string, string>> }[] =
    [];

  count(name: MetricName, dimensions: Readonly<Record<string, string>> = {}): void {
    this.counted.push({ name, dimensions: { ...dimensions } });
  }

  timing(name: MetricName, milliseconds: number, dimensions: Readonly<Record<string, string>> = {}): void {
    this.timed.push({ name, milliseconds, dimensions: { ...dimensions } });
  }
}

/**
 * A `SecretBox` that "seals" by encoding the plaintext with its context. Not secret at all, but it keeps
 * the contract a test can observe: the sealed text is not the plaintext, and only the same context opens it.
 */
export class FakeSecretBox implements SecretBox {
  async seal(plaintext: string, context: Record<string, string>): Promise<string> {
    return `sealed:${Buffer.from(JSON.stringify([canonical(context), plaintext]), 'utf8').toString('base64url')}`;
  }

  async open(sealed: string, context: Record<string, string>): Promise<string> {
    if (!sealed.startsWith('sealed:')) throw new Error('not a sealed value');
    const [sealedContext, plaintext] = JSON.parse(
      Buffer.from(sealed.slice('sealed:'.length), 'base64url').toString('utf8'),
    ) as [string, string];
    if (sealedContext !== canonical(context)) throw new Error('sealed under another context');
    return plaintext;
  }
}

function canonical(context: Record<string, string>): string {
  return JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The local runtime's deployment without a config file: any queue or environment name is accepted, and
 * `http` targets may be on loopback.
 */
export function openDeployment(overrides: Partial<DeploymentConfig> = {}): DeploymentConfig {
  return {
    defaultQueue: 'default',
    queues: [],
    environments: {},
    open: true,
    publicBaseUrl: 'http://127.0.0.1:3000',
    allowedTargetNetworks: ['loopback'],
    ...overrides,
  };
}

/** A clock that moves only when told. */
export class ManualClock implements Clock {
  constructor(private millis: number) {}

  now(): Date {
    return new Date(this.millis);
  }

  advance(millis: number): void {
    this.millis += millis;
  }
}

/**
 * Ids in the formats the service issues, deterministic: execution ids are ordered by the clock and then
 * by issue order, as the real time-ordered ids are.
 */
export function sequentialIds(clock: Clock): IdGenerator {
  let issued = 0;
  return {
    jobId: () => `job_00000000-0000-4000-8000-${(++issued).toString(16).padStart(12, '0')}`,
    entityId: () => `ent_00000000-0000-4000-8000-${(++issued).toString(16).padStart(12, '0')}`,
    executionId: () =>
      `exec_${clock.now().getTime().toString(36).padStart(9, '0')}${(++issued).toString(16).padStart(20, '0')}`,
  };
}

// ── Shared helpers ──────────────────────────────────────────────────────────────────────────────────

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function compareDescending(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? 1 : -1;
}

function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

/** Accepts only cursors of the shape this store issues, rejecting the rest as the DynamoDB adapters do. */
function decodeCursor(cursor: string, pattern: RegExp): RegExpExecArray {
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    after = undefined;
  }
  const match = typeof after === 'string' ? pattern.exec(after) : null;
  if (!match) {
    throw new BadRequestError(
      'cursor is not a cursor this service issued; pass next_cursor as returned.',
      'invalid_cursor',
      [{ path: 'cursor', message: 'is not a cursor this service issued', code: 'invalid_cursor' }],
    );
  }
  return match;
}

/** Webhook path records kept in a map (the memory job store does not write them; tests seed it). */
export class MemoryWebhookStore implements WebhookStore {
  readonly records = new Map<string, WebhookRecord>();

  async get(path: string): Promise<WebhookRecord | null> {
    const record = this.records.get(path);
    return record ? { ...record } : null;
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
    const record = this.records.get(path);
    if (!record || record.sealedSecret !== expectedSealedSecret) return false;
    this.records.set(path, { ...record, ...change, lastSecretUsed: null });
    return true;
  }

  async recordDelivery(path: string, secretUsed: 'current' | 'previous'): Promise<void> {
    const record = this.records.get(path);
    if (record) this.records.set(path, { ...record, lastSecretUsed: secretUsed });
  }
}

/**
 * A `Scheduler` held in memory, as EventBridge Scheduler would hold it: one schedule per expression. Set
 * `failure` to make every call throw it (an unreachable Scheduler); `calls` records each call.
 */
export class MemoryScheduler implements Scheduler {
  readonly schedules = new Map<string, JobSchedule>();
  readonly calls: { op: 'put' | 'remove' | 'list'; jobId?: string }[] = [];
  failure: Error | null = null;

  async put(schedule: JobSchedule): Promise<void> {
    this.calls.push({ op: 'put', jobId: schedule.jobId });
    if (this.failure) throw this.failure;
    this.schedules.set(schedule.jobId, structuredClone(schedule));
  }

  async remove(jobId: string): Promise<void> {
    this.calls.push({ op: 'remove', jobId });
    if (this.failure) throw this.failure;
    this.schedules.delete(jobId);
  }

  async list(): Promise<{ jobId: string; schedules: ScheduleState[] }[]> {
    this.calls.push({ op: 'list' });
    if (this.failure) throw this.failure;
    return [...this.schedules.values()].map((schedule) => ({
      jobId: schedule.jobId,
      schedules: schedule.expressions.map((expression, index) => ({
        index,
        expression,
        timezone: schedule.timezone,
        enabled: schedule.enabled,
        stale: false,
      })),
    }));
  }
}

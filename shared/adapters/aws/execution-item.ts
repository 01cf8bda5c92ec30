import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Execution } from '../../domain/execution.js';
import { runSettings } from '../../domain/run-config.js';
import type { ExecutionChange, StoredExecution } from '../../ports.js';

/**
 * How an execution is kept as one DynamoDB item, small enough that each of the three writes of a run
 * (queued, running, finished) costs one write unit for the usual run (DynamoDB bills a write by the
 * whole item, in 1 KB steps):
 *
 * - keys: `pk` `RUN#<shard>` (the last hex digit of the id: 16 partitions shared by all jobs, none hot),
 *   `sk` `EXEC#<execution id>` (time-ordered), and `gsi4pk` `JOB#<job id>` / `gsi4sk` `<execution id>`,
 *   the keys of the job's history index (keys only, written once: later writes change no index key); a
 *   run that fails or times out also gets `gsi5pk`/`gsi5sk`, the sparse index of failures;
 * - `doc`: what never changes after the run is created (prompt, parameters, config…, and the trigger's
 *   `config_override`, which a replay applies again), deflated;
 * - one short attribute per field a transition may set, so a transition is one conditional UpdateItem
 *   with no read before it; `out` (the output) is deflated with `doc` as its dictionary, since an
 *   agent's answer tends to quote its request;
 * - `v`, the count of updates, so a transition of an item this process has seen can be answered only
 *   what it changed (see `DynamoExecutionStore`).
 */
export const SHARDS = 16;

export const runPartition = (executionId: string) => `RUN#${shardOf(executionId)}`;

export function shardOf(executionId: string): string {
  const last = executionId.at(-1) ?? '0';
  return /^[0-9a-f]$/.test(last) ? last : (last.charCodeAt(0) % SHARDS).toString(16);
}

export const executionKey = (executionId: string) => ({
  pk: runPartition(executionId),
  sk: `EXEC#${executionId}`,
});

export const historyPartition = (jobId: string) => `JOB#${jobId}`;

/** Attribute names of the mutable fields, in one place (conditions and updates name them). */
export const A = {
  status: 'st',
  attempt: 'at',
  startedAt: 'sa',
  finishedAt: 'fa',
  durationMs: 'du',
  /** Epoch milliseconds, so the first claim can set it as `now + timeout` in its one write. */
  deadlineAt: 'dl',
  /** The run's timeout in milliseconds, from its config. */
  timeoutMs: 'to',
  errorMessage: 'em',
  output: 'out',
  outputTruncated: 'ot',
  leaseUntil: 'ls',
  callbackTokenHash: 'cb',
  /** The ARN of the state machine execution a `stepfunctions` run started. */
  targetExecutionArn: 'tx',
  exclusive: 'ex',
  expiresAt: 'expires_at',
  /** The job's history index (`gsi4`, keys only). */
  historyPk: 'gsi4pk',
  historySk: 'gsi4sk',
  /** The sparse index of failed and timed-out runs (`gsi5`, keys only). */
  failedPk: 'gsi5pk',
  failedSk: 'gsi5sk',
  /**
   * How many updates the item has had (absent, read as 0, until its first): every claim and transition adds
   * one, so a transition can require the item to be the one this process last saw.
   */
  version: 'v',
} as const;

/** The item's update count (`A.version`). */
export function versionOf(item: Record<string, unknown>): number {
  const version = item[A.version];
  return typeof version === 'number' ? version : 0;
}

/** The fields of `Execution` kept in `doc`: set at creation, never changed. */
type Fixed = Omit<
  Execution,
  | 'execution_id'
  | 'workflow_id'
  | 'job_id'
  | 'status'
  | 'attempt'
  | 'started_at'
  | 'finished_at'
  | 'duration_ms'
  | 'deadline_at'
  | 'lateness_ms'
  | 'error_message'
  | 'output'
  | 'output_truncated'
  | 'target_execution_arn'
>;

function fixedPart(execution: Execution): Fixed {
  const {
    execution_id: _id,
    workflow_id: _workflow,
    job_id: _job,
    status: _status,
    attempt: _attempt,
    started_at: _started,
    finished_at: _finished,
    duration_ms: _duration,
    deadline_at: _deadline,
    lateness_ms: _lateness,
    error_message: _error,
    output: _output,
    output_truncated: _truncated,
    target_execution_arn: _targetExecution,
    ...fixed
  } = execution;
  return fixed;
}

const FAILED_STATUSES = new Set(['failed', 'timed_out']);

/** The sparse index of failed and timed-out runs (across jobs), sharded like the table. */
export const failedPartition = (executionId: string) => `FAILED#${shardOf(executionId)}`;

/** What `doc` holds: the fixed fields, and the trigger's override when it is on record. */
type StoredDoc = Fixed & { config_override?: Record<string, unknown> | null };

/** The whole item of a new execution. */
export function toItem(
  execution: Execution,
  extra: { expiresAt: number; exclusive: boolean; configOverride?: Record<string, unknown> | null },
): Record<string, unknown> {
  const stored: StoredDoc = fixedPart(execution);
  // null is written too: it tells a run without an override from one recorded before overrides were kept.
  if (extra.configOverride !== undefined) stored.config_override = extra.configOverride;
  const doc = Buffer.from(JSON.stringify(stored), 'utf8');
  const item: Record<string, unknown> = {
    ...executionKey(execution.execution_id),
    [A.historyPk]: historyPartition(execution.job_id),
    [A.historySk]: execution.execution_id,
    doc: deflateRawSync(doc),
    [A.timeoutMs]: runSettings(execution.config).timeoutSeconds * 1000,
    [A.expiresAt]: extra.expiresAt,
  };
  Object.assign(item, mutableAttributes(execution, doc), extra.exclusive ? { [A.exclusive]: true } : {});
  inflatedDocs.set(item, doc);
  return item;
}

/** The attributes of the mutable fields that are set (null fields are absent). */
function mutableAttributes(fields: Partial<Execution>, doc: Buffer | null): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  const put = (name: string, value: unknown) => {
    if (value !== undefined && value !== null) attributes[name] = value;
  };
  put(A.status, fields.status);
  put(A.attempt, fields.attempt);
  put(A.startedAt, fields.started_at);
  put(A.finishedAt, fields.finished_at);
  put(A.durationMs, fields.duration_ms);
  put(A.deadlineAt, epochOf(fields.deadline_at));
  put(A.errorMessage, fields.error_message);
  if (fields.output !== undefined && fields.output !== null)
    attributes[A.output] = packOutput(fields.output, doc);
  if (fields.output_truncated) attributes[A.outputTruncated] = true;
  put(A.targetExecutionArn, fields.target_execution_arn);
  if (fields.status !== undefined && FAILED_STATUSES.has(fields.status) && fields.execution_id) {
    attributes[A.failedPk] = failedPartition(fields.execution_id);
    attributes[A.failedSk] = fields.execution_id;
  }
  return attributes;
}

function packOutput(output: unknown, doc: Buffer | null): Buffer {
  const json = Buffer.from(JSON.stringify(output), 'utf8');
  return doc ? deflateRawSync(json, { dictionary: doc }) : deflateRawSync(json);
}

function unpackOutput(packed: unknown, doc: Buffer): unknown {
  if (!(packed instanceof Uint8Array)) return null;
  return JSON.parse(inflateRawSync(packed, { dictionary: doc }).toString('utf8')) as unknown;
}

/**
 * The execution (and its worker-facing state) an item holds. `knownDoc`: the run's doc as already read
 * (a doc never changes once written), which spares inflating it again.
 */
export function fromItem(item: Record<string, unknown>, knownDoc?: Buffer): StoredExecution {
  const executionId = String(item.sk).slice('EXEC#'.length);
  const doc = knownDoc ?? docOf(item);
  const { config_override: configOverride, ...fixed } = JSON.parse(doc.toString('utf8')) as StoredDoc;
  const text = (name: string) => (typeof item[name] === 'string' ? (item[name] as string) : null);
  const number = (name: string) => (typeof item[name] === 'number' ? (item[name] as number) : null);
  const execution: Execution = {
    execution_id: executionId,
    workflow_id: `wf_${executionId.slice('exec_'.length)}`,
    job_id: String(item[A.historyPk]).slice('JOB#'.length),
    ...fixed,
    status: item[A.status] as Execution['status'],
    attempt: number(A.attempt) ?? 1,
    started_at: text(A.startedAt),
    finished_at: text(A.finishedAt),
    duration_ms: number(A.durationMs),
    deadline_at:
      number(A.deadlineAt) === null ? null : new Date(number(A.deadlineAt) as number).toISOString(),
    // Derived, not stored: how long after its fire time a cron run started.
    lateness_ms: latenessOf(text(A.startedAt), fixed.scheduled_at),
    error_message: text(A.errorMessage),
    output: unpackOutput(item[A.output], doc),
    output_truncated: item[A.outputTruncated] === true,
    ...(typeof item[A.targetExecutionArn] === 'string' && {
      target_execution_arn: item[A.targetExecutionArn] as string,
    }),
  };
  return {
    execution: orderedLikeSchema(execution),
    callbackTokenHash: text(A.callbackTokenHash) ?? '',
    leaseUntil: text(A.leaseUntil),
    exclusive: item[A.exclusive] === true,
    ...(configOverride !== undefined && { configOverride }),
  };
}

/**
 * The doc of each item this process built or decoded, so one item's doc is inflated at most once (a run's
 * doc is read for the run, and again as the dictionary of its output).
 */
const inflatedDocs = new WeakMap<Record<string, unknown>, Buffer>();

/** The doc of an item, as the dictionary its output was packed with. */
export function docOf(item: Record<string, unknown>): Buffer {
  const known = inflatedDocs.get(item);
  if (known) return known;
  const doc = inflateRawSync(item.doc as Uint8Array);
  inflatedDocs.set(item, doc);
  return doc;
}

/**
 * The SET and REMOVE clauses of a transition: fields set to a value are set, fields set to null are
 * removed. `doc` is the run's fixed part (the output's dictionary).
 */
export function changeExpression(
  executionId: string,
  change: ExecutionChange,
  doc: Buffer,
): { set: Record<string, unknown>; remove: string[] } {
  const { leaseUntil, callbackTokenHash, ...fields } = change;
  const set: Record<string, unknown> = {};
  const remove: string[] = [];
  const assign = (name: string, value: unknown) => {
    if (value === undefined) return;
    if (value === null || value === false) remove.push(name);
    else set[name] = value;
  };
  assign(A.status, fields.status);
  assign(A.attempt, fields.attempt);
  assign(A.startedAt, fields.started_at);
  assign(A.finishedAt, fields.finished_at);
  assign(A.durationMs, fields.duration_ms);
  assign(A.deadlineAt, fields.deadline_at === undefined ? undefined : epochOf(fields.deadline_at));
  assign(A.errorMessage, fields.error_message);
  if (fields.output !== undefined) {
    assign(A.output, fields.output === null ? null : packOutput(fields.output, doc));
  }
  assign(A.outputTruncated, fields.output_truncated);
  assign(A.targetExecutionArn, fields.target_execution_arn);
  assign(A.leaseUntil, leaseUntil);
  assign(A.callbackTokenHash, callbackTokenHash === '' ? null : callbackTokenHash);
  if (fields.status !== undefined && FAILED_STATUSES.has(fields.status)) {
    set[A.failedPk] = failedPartition(executionId);
    set[A.failedSk] = executionId;
  }
  return { set, remove };
}

const FIELD_ORDER: (keyof Execution)[] = [
  'execution_id',
  'workflow_id',
  'job_id',
  'job_name',
  'status',
  'trigger_type',
  'parameters',
  'prompt',
  'system_prompt',
  'config',
  'entity_id',
  'entity_type',
  'queue',
  'environment_name',
  'metadata',
  'dedupe_key',
  'replay_of',
  'scheduled_at',
  'lateness_ms',
  'attempt',
  'max_attempts',
  'created_at',
  'started_at',
  'finished_at',
  'duration_ms',
  'deadline_at',
  'error_message',
  'output',
  'output_truncated',
];

/** The same fields in the schema's order, so the JSON answered does not change with the storage. */
function orderedLikeSchema(execution: Execution): Execution {
  const ordered: Record<string, unknown> = {};
  // An optional field left out (`replay_of` of a run that is not a replay) stays out.
  for (const field of FIELD_ORDER) if (execution[field] !== undefined) ordered[field] = execution[field];
  for (const [field, value] of Object.entries(execution)) if (!(field in ordered)) ordered[field] = value;
  return ordered as Execution;
}

function epochOf(iso: string | null | undefined): number | null | undefined {
  if (iso === undefined || iso === null) return iso;
  return Date.parse(iso);
}

function latenessOf(startedAt: string | null, scheduledAt: string | null): number | null {
  if (startedAt === null || scheduledAt === null) return null;
  return Math.max(0, Date.parse(startedAt) - Date.parse(scheduledAt));
}

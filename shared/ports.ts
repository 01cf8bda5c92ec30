import type { AwsTargetLists } from './domain/aws-targets.js';
import type { Entity, EntityTarget } from './domain/entity.js';
import type { Execution, ExecutionRequest, ExecutionStatus } from './domain/execution.js';
import type { Job, JobListFilter, TriggerType } from './domain/job.js';
import type { CatchupPolicy } from './domain/schedule.js';
import type { TargetNetwork } from './domain/target-network.js';
import type { ApiKeyMatch } from './ports/access.js';

/** A page of jobs, newest first; `nextCursor` is null on the last page. */
export interface JobPage {
  jobs: Job[];
  nextCursor: string | null;
}

/** A stored job plus the version its next conditional write must match. */
export interface VersionedJob {
  job: Job;
  version: number;
}

/**
 * Persistence of jobs. Writes are conditional on `version`: a write against a stale version (or a job
 * deleted meanwhile) fails with `VersionConflictError` / returns false instead of overwriting.
 */
/** The sealed secret a new webhook path is created with (the store writes the path item in the job's transaction). */
export interface NewWebhook {
  sealedSecret: string;
}

export interface JobStore {
  /**
   * Writes a new job; fails if the id exists. A job naming an entity counts as a reference to it, in
   * the same transaction; an entity that does not exist with the job's entity type is a `ValidationError`.
   */
  create(job: Job, webhook?: NewWebhook): Promise<VersionedJob>;
  get(id: string): Promise<VersionedJob | null>;
  /**
   * Replaces `previous` if its stored version is still `expectedVersion` (moving the entity reference
   * if it changed); returns the new version, or null on conflict or absence.
   */
  replace(
    job: Job,
    expectedVersion: number,
    previous: Job,
    webhook?: NewWebhook,
  ): Promise<VersionedJob | null>;
  /** Deletes the job if its version is still `expectedVersion`, dropping its entity reference; false otherwise. */
  delete(job: Job, expectedVersion: number): Promise<boolean>;
  list(filter: JobListFilter): Promise<JobPage>;
}

/** Checks presented API keys against the hashes of the valid ones: the key matched, or null. */
export interface ApiKeyVerifier {
  verify(presentedKey: string): Promise<ApiKeyMatch | null>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  jobId(): string;
  entityId(): string;
  /** Time-ordered (lexicographic order = creation order), so history sorts newest first by id. */
  executionId(): string;
}

export type LogFields = Record<string, unknown>;

/**
 * Structured logging: one JSON object per line on AWS. Callers pass ids as fields (`jobId`, `executionId`),
 * never interpolated into messages; the lines name them `job_id` and `execution_id`, the keys that
 * {@link Logger.withKeys} adds to every line of a unit of work. An `Error` field is written with its stack.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * Runs `work` with `keys` (an invocation's `request_id`, a record's `job_id` and `execution_id`) on
   * every line this logger writes until `work` settles, from whatever code it calls. Scopes nest, and
   * concurrent ones (the records of one batch) never see each other's keys.
   */
  withKeys<T>(keys: LogFields, work: () => Promise<T>): Promise<T>;
}

/** The metrics the service publishes, in the CloudWatch namespace `ServerlessJobs`: counts, and timings. */
export type MetricName =
  | 'WebhookRejected'
  | 'ScheduleSyncFailed'
  /** A notification try that failed (alarmed: no dimension besides `service`). */
  | 'NotificationDeliveryFailed'
  /** A notification given up on after its last try. */
  | 'NotificationDropped'
  /** A run that reached a terminal status (dimension `Status`). */
  | 'RunFinished'
  | 'AuditWriteFailed'
  /** Timing: a cron fire's dispatch began this many milliseconds after its scheduled time. */
  | 'CronFireLateness';

/** Counts events and records timings as CloudWatch metrics. */
export interface Metrics {
  /**
   * Counts one `name` event. Dimension values come from a small fixed set (a reason, a status), never
   * an id: every distinct value is a metric of its own.
   */
  count(name: MetricName, dimensions?: Readonly<Record<string, string>>): void;
  /** Records one value of `name` in milliseconds (a timing, whose percentiles CloudWatch gives). */
  timing(name: MetricName, milliseconds: number, dimensions?: Readonly<Record<string, string>>): void;
}

export type { TriggerType };

// ── Entities ────────────────────────────────────────────────────────────────────────────────────────

export interface StoredEntity {
  entity: Entity;
  version: number;
  /** The signing secret sealed by `SecretBox` (http targets only). */
  sealedSecret: string | null;
}

export interface EntityPage {
  entities: Entity[];
  nextCursor: string | null;
}

export interface EntityStore {
  /** Writes a new entity (and, when `entity.default`, makes it the one default); false if the id exists. */
  create(entity: Entity, sealedSecret: string | null): Promise<boolean>;
  get(id: string): Promise<StoredEntity | null>;
  list(options: { limit: number; cursor?: string }): Promise<EntityPage>;
  /** Conditional on `expectedVersion`; keeps the default pointer in step. Null on conflict or absence. */
  replace(entity: Entity, sealedSecret: string | null, expectedVersion: number): Promise<StoredEntity | null>;
  /** `referenced` while any job names the entity. */
  delete(id: string): Promise<'deleted' | 'not_found' | 'referenced'>;
  /** The deployment default entity, if one is marked. */
  getDefault(): Promise<StoredEntity | null>;
  /** The id and type of the default entity (what a run of a job without an entity records), one read. */
  defaultRef(): Promise<{ id: string; type: Entity['type'] } | null>;
  /**
   * What a worker needs to invoke an entity, one eventually consistent read (a change made a moment
   * before a run may not be seen by it).
   */
  getTarget(id: string): Promise<EntityTargetRecord | null>;
}

/** An entity as a run invokes it. */
export interface EntityTargetRecord {
  entity: Pick<Entity, 'id' | 'type' | 'name' | 'target'>;
  sealedSecret: string | null;
}

// ── Executions ──────────────────────────────────────────────────────────────────────────────────────

export interface StartRunRequest {
  execution: Execution;
  /** A repeated trigger with the same key returns the first execution. */
  dedupeKey?: string;
  /** The execution id is derived from the dedupe key (a cron fire's): the run's own write dedupes. */
  idFromKey?: boolean;
  /** Overlap policy `skip`: take the job's run lock, or record the execution as `skipped`. */
  exclusive: boolean;
  /** When the execution record (and its dedupe marker) expire, epoch seconds. */
  expiresAt: number;
  /**
   * The trigger's `config_override` (null when it gave none), kept with the run so that a replay
   * applies it to the job's config as it is then. Omitted, the run has none on record.
   */
  configOverride?: Record<string, unknown> | null;
}

export type StartRunOutcome =
  | { kind: 'started'; execution: Execution }
  | { kind: 'duplicate'; execution: Execution }
  | { kind: 'skipped'; execution: Execution };

export interface StoredExecution {
  execution: Execution;
  callbackTokenHash: string;
  /** Until when the current claim holds; a redelivered message may take over a run only after it. */
  leaseUntil: string | null;
  /** Whether this run took the job's overlap lock. */
  exclusive: boolean;
  /**
   * The `config_override` the run was started with (null: none); undefined for a run recorded before
   * overrides were kept, whose `config` is then all that is known.
   */
  configOverride?: Record<string, unknown> | null;
}

export interface ExecutionPage {
  executions: Execution[];
  nextCursor: string | null;
  totalCount: number;
}

/** Runs of every job (or of one), newest first. */
export interface RecentExecutionPage {
  executions: Execution[];
  nextCursor: string | null;
}

/** What `ExecutionStore.listRecent` reads: one page of runs, newest first, after `cursor`. */
export interface RecentExecutionQuery {
  /** Only runs in these statuses (all when absent or empty). */
  statuses?: readonly ExecutionStatus[];
  /** Only runs of this job. */
  jobId?: string;
  limit: number;
  cursor?: string;
}

/** Fields a transition may set on an execution (null clears a field). */
export type ExecutionChange = Partial<
  Pick<
    Execution,
    | 'status'
    | 'attempt'
    | 'started_at'
    | 'lateness_ms'
    | 'finished_at'
    | 'duration_ms'
    | 'deadline_at'
    | 'error_message'
    | 'output'
    | 'output_truncated'
    | 'target_execution_arn'
  >
> & {
  leaseUntil?: string | null;
  /** Hash of the callback token handed to the target for this attempt ('' clears it). */
  callbackTokenHash?: string;
};

/** What a transition did: the execution after it, or, when its condition failed, the run as it stands. */
export type TransitionResult =
  | { ok: true; execution: Execution }
  | { ok: false; current: StoredExecution | null };

export interface ExecutionStore {
  /**
   * Writes the execution as `queued` (one conditional write). With a dedupe key, a key already used
   * returns the first execution; with `exclusive`, a run of the job still active makes this one
   * `skipped` instead.
   */
  start(request: StartRunRequest): Promise<StartRunOutcome>;
  get(jobId: string, executionId: string): Promise<StoredExecution | null>;
  /** The execution a dedupe key started, if the key has been used (and its run not yet expired). */
  findByDedupeKey(jobId: string, dedupeKey: string): Promise<Execution | null>;
  /** Newest first. `offset` skips within the query; `cursor` continues from a previous page. */
  list(jobId: string, options: { limit: number; offset: number; cursor?: string }): Promise<ExecutionPage>;
  /**
   * Runs of every job, newest first, optionally only those in `statuses` or of one job. Bounded like
   * every list: a page may be short, or empty, and still have a `nextCursor`.
   */
  listRecent(query: RecentExecutionQuery): Promise<RecentExecutionPage>;
  /**
   * queued → running for `attempt`, with the attempt's lease and callback token hash; the first attempt
   * also starts the run's clock (`started_at` = now, `deadline_at` = now + its timeout). One conditional
   * write, no read before it: when the run is not queued at that attempt, `current` says how it stands.
   */
  claim(
    jobId: string,
    executionId: string,
    claim: { attempt: number; now: Date; leaseUntil: string; callbackTokenHash: string },
  ): Promise<TransitionResult>;
  /**
   * Applies `change` if the execution's status is one of `from` (and, when given, its attempt matches;
   * when `leaseExpiredBefore` is given, a `running` execution qualifies only if its lease ended before
   * then). One conditional write, no read before it.
   */
  transition(
    jobId: string,
    executionId: string,
    condition: { from: readonly ExecutionStatus[]; attempt?: number; leaseExpiredBefore?: string },
    change: ExecutionChange,
  ): Promise<TransitionResult>;
  /**
   * Runs created in [`from`, `to`) still queued for their first attempt: the sweeper sends them again, in
   * case the process that wrote one stopped before sending its message. Reads each run of the window
   * once; `scannedTo` is how far it got (`to` unless it stopped at its read ceiling).
   */
  findUnsent(window: { from: Date; to: Date }): Promise<{ executions: Execution[]; scannedTo: Date }>;
  /** Where the last sweep's scan for unsent runs stopped. */
  sweepCheckpoint(): Promise<Date | null>;
  saveSweepCheckpoint(at: Date): Promise<void>;
  /**
   * Moves runs recorded by an earlier version of the service into the current layout, a bounded amount
   * per call; true once nothing is left to move. Resumable and safe to run concurrently with runs.
   */
  upgrade(): Promise<boolean>;
}

// ── Queues, targets, secrets, deployment ───────────────────────────────────────────────────────────

/** The message that tells a worker to run one attempt of an execution. */
export interface RunMessage {
  job_id: string;
  execution_id: string;
  attempt: number;
}

export interface RunQueue {
  /** Sends to the named worker queue, visible after `delaySeconds` (0–900). */
  send(queue: string, message: RunMessage, delaySeconds?: number): Promise<void>;
}

/** A received queue message, as the SQS event record names it. */
export interface ReceivedMessage {
  eventSourceARN: string;
  receiptHandle: string;
}

/** `ChangeMessageVisibility`: how a worker hands a message back to its queue for later. */
export interface MessageVisibility {
  /** The message is received again `seconds` from now (0–43,200), once the handler reports it failed. */
  delay(message: ReceivedMessage, seconds: number): Promise<void>;
}

/**
 * What one invocation of a target came to. `ref`, where given, names the work the target did for the run
 * (a state machine execution's ARN): it is recorded as the run's `target_execution_arn`.
 */
export type TargetOutcome =
  | { kind: 'succeeded'; output: unknown; ref?: string }
  /** The target took the run (HTTP 202) and will finish it through the callback. */
  | { kind: 'accepted' }
  /**
   * The target started work that runs on without us (a Step Functions execution): the worker records `ref`
   * and checks on it ({@link TargetInvoker.check}) until it ends or the run's deadline stops it.
   */
  | { kind: 'started'; ref: string }
  | { kind: 'failed'; error: string; retryable: boolean; timedOut: boolean; ref?: string };

/** How started work stands ({@link TargetInvoker.check}). */
export type StartedWorkState =
  | { kind: 'running' }
  | { kind: 'succeeded'; output: unknown }
  | { kind: 'failed'; error: string }
  /** It could not be checked; `retryable` says whether a later check may tell. */
  | { kind: 'unknown'; error: string; retryable: boolean };

export interface TargetInvoker {
  /**
   * Invokes the entity's target with the request. Never throws for target failures: network errors,
   * timeouts, 408/429/5xx are `retryable`; other 4xx are not.
   */
  invoke(
    target: EntityTarget,
    request: ExecutionRequest,
    options: { signingSecret: string | null; timeoutMs: number },
  ): Promise<TargetOutcome>;
  /** How the work an invocation `started` stands (absent where no target starts work). Never throws. */
  check?(ref: string, options: { timeoutMs: number }): Promise<StartedWorkState>;
  /** Stops started work (the run timed out or was cancelled); throws when it could not be stopped. */
  stop?(ref: string, reason: string): Promise<void>;
}

/** Envelope encryption of small secrets (entity signing secrets, webhook secrets). */
export interface SecretBox {
  /** `context` binds the ciphertext to its owner (e.g. `{ entity: id }`); the same context must open it. */
  seal(plaintext: string, context: Record<string, string>): Promise<string>;
  open(sealed: string, context: Record<string, string>): Promise<string>;
}

export interface EnvironmentSpec {
  queue: string;
  variables: Record<string, string>;
}

/**
 * The deployment's queues and environments. On AWS they are fixed at deploy time; locally, without a
 * config file, any name is accepted (`open`).
 */
export interface DeploymentConfig {
  defaultQueue: string;
  /** Named worker queues (besides the default). */
  queues: readonly string[];
  environments: Readonly<Record<string, EnvironmentSpec>>;
  /** Accept any queue or environment name (local runtime without a config file). */
  open: boolean;
  /** Base URL targets call back to (`<base>/executions/{id}/callback`). */
  publicBaseUrl: string;
  /**
   * Networks besides public addresses that `http` targets may point at (`loopback` locally by default;
   * none on AWS unless the deployment lists `private`). Link-local and metadata addresses never are.
   * @default [] (public addresses only)
   */
  allowedTargetNetworks?: readonly TargetNetwork[];
  /**
   * SNS topics `sns` notification channels may publish to (the deployment's `notificationTopicArns`).
   * @default [] (no sns channels)
   */
  notificationTopicArns?: readonly string[];
  /**
   * The state machines, queues and event buses `stepfunctions`, `sqs` and `eventbridge` targets may name
   * (unless `open`, when any is accepted). @default none
   */
  awsTargets?: AwsTargetLists;
}

// ── Webhooks ────────────────────────────────────────────────────────────────────────────────────────

export interface WebhookRecord {
  path: string;
  jobId: string;
  sealedSecret: string;
  /** The secret before the last rotation, accepted until `previousValidUntil`. */
  previousSealedSecret: string | null;
  previousValidUntil: string | null;
  rotatedAt: string | null;
  lastSecretUsed: 'current' | 'previous' | null;
  /**
   * The job as of its last write (kept on the path item in the job's own transactions, so a delivery
   * reads one item); null on a path item written before it carried the job.
   */
  job: Job | null;
}

export interface WebhookStore {
  get(path: string): Promise<WebhookRecord | null>;
  /** Replaces the secret (keeping the old one until `previousValidUntil`, or not at all when null); false if the path is gone. */
  rotate(
    path: string,
    /** The secret the rotation replaces: if another rotation got there first, nothing changes (false). */
    expectedSealedSecret: string,
    change: {
      sealedSecret: string;
      previousSealedSecret: string | null;
      previousValidUntil: string | null;
      rotatedAt: string;
    },
  ): Promise<boolean>;
  recordDelivery(path: string, secretUsed: 'current' | 'previous'): Promise<void>;
}

export interface RateLimiter {
  /** Takes one request from `key`'s allowance: `rate` per second with bursts of `burst`. */
  take(
    key: string,
    rate: number,
    burst: number,
  ): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;
}

// ── Schedules ───────────────────────────────────────────────────────────────────────────────────────

/** What a cron job's schedules must be: one per EventBridge expression, in the job's zone. */
export interface JobSchedule {
  jobId: string;
  /** The job's 5-field Unix expression: what the in-process scheduler evaluates. */
  cron: string;
  /** `cron(...)` expressions (two when both day fields are restricted): what EventBridge Scheduler runs. */
  expressions: readonly string[];
  /** IANA zone the expression is read in. */
  timezone: string;
  enabled: boolean;
  /** Missed fires after a restart of the in-process scheduler (EventBridge Scheduler never pauses). */
  catchup: CatchupPolicy;
}

/** One schedule as the scheduler holds it (index = position of its expression in `JobSchedule.expressions`). */
export interface ScheduleState {
  index: number;
  expression: string;
  timezone: string;
  enabled: boolean;
  /** Its target or delivery settings differ from what this deployment writes (e.g. a renamed dispatch function). */
  stale: boolean;
}

/** The job schedules of the deployment (EventBridge Scheduler on AWS, in process locally). */
export interface Scheduler {
  /** Creates or updates the job's schedules to match (DISABLED while the job is), removing any extra. */
  put(schedule: JobSchedule): Promise<void>;
  /** Removes every schedule of the job; absent ones are fine. */
  remove(jobId: string): Promise<void>;
  /** Every job that has schedules, with each schedule's state: what reconciliation compares with the jobs. */
  list(): Promise<{ jobId: string; schedules: ScheduleState[] }[]>;
}

export type * from './ports/access.js';
export type * from './ports/alerting.js';

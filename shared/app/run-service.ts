import { parseCron } from '../domain/cron.js';
import { isFireTime } from '../domain/cron-schedule.js';
import type { Entity } from '../domain/entity.js';
import { ConflictError, NotFoundError, UnauthorizedError, ValidationError } from '../domain/errors.js';
import {
  type CallbackRequest,
  type Execution,
  type ExecutionStatus,
  isTerminal,
  MAX_EXECUTION_BYTES,
  type TriggerRequest,
  type TriggerResponse,
} from '../domain/execution.js';
import type { Job, TriggerType } from '../domain/job.js';
import { mergeRunConfig, runConfigViolations, runSettings } from '../domain/run-config.js';
import { renderTemplate } from '../domain/template.js';
import type {
  Clock,
  DeploymentConfig,
  EntityStore,
  ExecutionPage,
  ExecutionStore,
  IdGenerator,
  Logger,
  Metrics,
  RecentExecutionPage,
  RunQueue,
  StartRunOutcome,
} from '../ports.js';
import { type Deferred, readDeferred } from './deferred.js';
import { noEntityError } from './entity-service.js';
import { isJobId, jobNotFound } from './job-service.js';
import {
  addSeconds,
  capOutput,
  cronExecutionId,
  durationMs,
  jobIdOfCallbackToken,
  tokenMatches,
  truncate,
} from './run-helpers.js';

/** What runs need of jobs: reading one (404 when absent). `JobService` is one. */
export interface JobReader {
  get(id: string): Promise<Job>;
}

export interface RunServiceDeps {
  jobs: JobReader;
  entities: EntityStore;
  executions: ExecutionStore;
  queue: RunQueue;
  deployment: DeploymentConfig;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** How long execution records are kept (DynamoDB TTL). */
  retentionDays: number;
  /** Times each cron fire's lateness (`CronFireLateness`). */
  metrics?: Metrics;
}

/** A page of a job's history: `limit` runs after skipping `offset`, or after `cursor`. */
export interface HistoryPage {
  limit: number;
  offset: number;
  cursor?: string;
}

/** A page of runs across jobs (`GET /executions`), as the route reads its query. */
export interface RecentRunsQuery {
  /** Only runs in these statuses. */
  status?: readonly ExecutionStatus[];
  /** Only runs of this job. */
  job_id?: string;
  limit: number;
  cursor?: string;
}

/** A run still queued for its first attempt this long after it was created is sent again by the sweeper. */
export const QUEUED_GRACE_SECONDS = 120;
/** Where the very first sweep starts looking, before there is a checkpoint. */
const FIRST_SWEEP_LOOKBACK_MS = 15 * 60_000;

/** What one sweep did. */
export interface SweepReport {
  /** Runs sent to their queue again. */
  requeued: number;
  /** Whether runs recorded by an earlier version are all in the current layout. */
  upgraded: boolean;
}

export interface RunTrigger {
  trigger_type: TriggerType;
  parameters?: Record<string, unknown> | null;
  config_override?: Record<string, unknown> | null;
  metadata?: Record<string, unknown>;
  /** Webhook delivery id or cron fire time: a repeat returns the first execution. */
  dedupeKey?: string;
  /** Cron fires: the fire time the run is for. */
  scheduledAt?: string;
  /** An id derived from the dedupe key (cron fires): writing the run is then its own dedupe. */
  executionId?: string;
  /** Replays: the execution this run replays, recorded as its `replay_of`. */
  replayOf?: string;
  /**
   * Runs once every check has passed, just before the run is written (the webhook rate limit); not run
   * when `dedupeKey` already names a run, which is then the answer.
   */
  beforeWrite?: () => Promise<void>;
}

/** Everything that starts, inspects, finishes or cancels runs, short of executing them (see RunWorker). */
export class RunService {
  constructor(private readonly deps: RunServiceDeps) {}

  /**
   * `POST /jobs/{id}/trigger`. With an idempotency key (the `Idempotency-Key` header), a repeated
   * request returns the first execution instead of starting another.
   */
  async trigger(jobId: string, input: TriggerRequest, idempotencyKey?: string): Promise<TriggerResponse> {
    const job = await this.deps.jobs.get(jobId);
    const outcome = await this.startRun(job, {
      trigger_type: 'manual',
      parameters: input.parameters,
      config_override: input.config_override,
      ...(idempotencyKey !== undefined && { dedupeKey: `manual:${idempotencyKey}` }),
    });
    const { execution } = outcome;
    return {
      workflow_id: execution.workflow_id,
      execution_id: execution.execution_id,
      status: execution.status,
    };
  }

  /**
   * The one way every trigger starts a run: render the prompt, resolve entity and queue, write the
   * execution (`queued`, or `skipped` by the overlap policy) with its dedupe marker and the job's
   * counter in one transaction, then enqueue. An enqueue failure leaves the run queued for the sweeper,
   * so an acknowledged trigger is never lost.
   */
  async startRun(job: Job, trigger: RunTrigger): Promise<StartRunOutcome> {
    if (!job.enabled) throw new ConflictError(`Job ${job.id} is disabled; enable it before triggering it.`);
    const parameters = trigger.parameters ?? {};
    const override = trigger.config_override ?? undefined;
    const overrideProblems = override ? runConfigViolations(override, 'config_override') : [];
    if (overrideProblems.length > 0) throw new ValidationError(overrideProblems);
    const prompt = renderTemplate(job.prompt_template, parameters);
    const config = mergeRunConfig(job.config, override);
    const settings = runSettings(config);

    // A job naming an entity keeps it from being deleted (its reference count), so only the default is read.
    const entity =
      job.entity_id === null
        ? await this.deps.entities.defaultRef()
        : { id: job.entity_id, type: job.entity_type as Entity['type'] };
    if (!entity) throw noEntityError();
    const { queue, environmentName } = this.route(job);

    const now = this.deps.clock.now();
    const executionId = trigger.executionId ?? this.deps.ids.executionId();
    const execution: Execution = {
      execution_id: executionId,
      workflow_id: `wf_${executionId.slice('exec_'.length)}`,
      job_id: job.id,
      job_name: job.name,
      status: 'queued',
      trigger_type: trigger.trigger_type,
      parameters,
      prompt,
      system_prompt: job.system_prompt,
      config,
      entity_id: entity.id,
      entity_type: entity.type,
      queue,
      environment_name: environmentName,
      metadata: trigger.metadata ?? {},
      dedupe_key: trigger.dedupeKey ?? null,
      ...(trigger.replayOf !== undefined && { replay_of: trigger.replayOf }),
      scheduled_at: trigger.scheduledAt ?? null,
      lateness_ms: null,
      attempt: 1,
      max_attempts: settings.maxAttempts,
      created_at: now.toISOString(),
      started_at: null,
      finished_at: null,
      duration_ms: null,
      deadline_at: null,
      error_message: null,
      output: null,
      output_truncated: false,
    };
    const size = Buffer.byteLength(JSON.stringify(execution), 'utf8');
    if (size > MAX_EXECUTION_BYTES) {
      throw new ValidationError([
        {
          path: 'parameters',
          message: `the run would take ${size} bytes with its rendered prompt, parameters and config; the limit is ${MAX_EXECUTION_BYTES}`,
          code: 'too_large',
        },
      ]);
    }
    if (trigger.beforeWrite) {
      // The write below dedupes on its own; looking first spares a known key the beforeWrite step,
      // so a replayed webhook delivery answers with its first run without taking rate allowance.
      const first =
        trigger.dedupeKey === undefined
          ? null
          : await this.deps.executions.findByDedupeKey(job.id, trigger.dedupeKey);
      if (first) {
        this.deps.logger.info('run already started for this key', {
          jobId: job.id,
          executionId: first.execution_id,
        });
        return { kind: 'duplicate', execution: first };
      }
      await trigger.beforeWrite();
    }
    const outcome = await this.deps.executions.start({
      execution,
      ...(trigger.dedupeKey !== undefined && { dedupeKey: trigger.dedupeKey }),
      ...(trigger.executionId !== undefined && { idFromKey: true }),
      exclusive: settings.overlapPolicy === 'skip',
      expiresAt: Math.floor(addSeconds(now, this.deps.retentionDays * 86_400).getTime() / 1000),
      configOverride: override ?? null,
    });
    const fields = { jobId: job.id, executionId: outcome.execution.execution_id, outcome: outcome.kind };
    if (outcome.kind === 'started') {
      try {
        await this.deps.queue.send(queue, {
          job_id: job.id,
          execution_id: outcome.execution.execution_id,
          attempt: 1,
        });
      } catch (error) {
        this.deps.logger.error('enqueue failed; the sweeper will retry', { ...fields, queue, error });
      }
    }
    this.deps.logger.info('run started', fields);
    return outcome;
  }

  /**
   * A cron fire, from EventBridge Scheduler (which delivers at least once) or the local scheduler: one
   * run per job and scheduled time, whatever the number of deliveries. A fire for a job that is gone,
   * disabled or no longer cron-triggered starts nothing (the schedule is stale and reconciliation
   * removes it); a template that needs parameters a cron fire cannot give is logged, not retried.
   */
  async dispatchCron(jobId: string, scheduledTime: string): Promise<StartRunOutcome | null> {
    const dispatchedAt = this.deps.clock.now();
    const scheduled = Date.parse(scheduledTime);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(scheduledTime) || Number.isNaN(scheduled)) {
      throw new ValidationError([
        { path: 'scheduled_time', message: 'must be an ISO 8601 time', code: 'invalid' },
      ]);
    }
    const scheduledAt = new Date(scheduled).toISOString();
    const fields = { jobId, scheduledAt };
    let job: Job;
    try {
      job = await this.deps.jobs.get(jobId);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      this.deps.logger.warn('cron fire for a job that no longer exists', fields);
      return null;
    }
    if (!job.enabled || job.trigger_type !== 'cron' || job.cron_schedule === null) {
      this.deps.logger.info('cron fire for a disabled or non-cron job ignored', fields);
      return null;
    }
    if (!isFireTime(parseCron(job.cron_schedule), job.cron_timezone, new Date(scheduled))) {
      // A schedule written for an earlier expression or zone, not yet repaired: not a fire of this job.
      this.deps.logger.warn('cron fire not at a fire time of the job ignored', {
        ...fields,
        cronSchedule: job.cron_schedule,
        timezone: job.cron_timezone,
      });
      return null;
    }
    try {
      const outcome = await this.startRun(job, {
        trigger_type: 'cron',
        scheduledAt,
        dedupeKey: `cron:${scheduledAt}`,
        executionId: cronExecutionId(job.id, scheduledAt),
      });
      const { execution } = outcome;
      if (outcome.kind !== 'duplicate') {
        // Once per fire (a delivery again is not a second fire): how late the scheduler and Lambda brought it.
        this.deps.metrics?.timing('CronFireLateness', Math.max(0, dispatchedAt.getTime() - scheduled));
      }
      if (outcome.kind === 'duplicate' && execution.status === 'queued' && execution.attempt === 1) {
        // A fire delivered again (the Scheduler or Lambda retrying) after the process that wrote its run
        // stopped, maybe before sending: send it again. A second message is harmless; a run is claimed once.
        await this.deps.queue.send(execution.queue, {
          job_id: execution.job_id,
          execution_id: execution.execution_id,
          attempt: 1,
        });
      }
      return outcome;
    } catch (error) {
      if (!(error instanceof ValidationError || error instanceof ConflictError)) throw error;
      this.deps.logger.error('cron fire could not start a run', { ...fields, error });
      return null;
    }
  }

  /** Where a job's runs go: its named queue, its environment's queue, or the default. */
  private route(job: Job): { queue: string; environmentName: string | null } {
    const { deployment } = this.deps;
    if (job.executor_type === 'specific_queue' && job.worker_queue_name !== null) {
      return { queue: job.worker_queue_name, environmentName: null };
    }
    if (job.executor_type === 'environment' && job.environment_name !== null) {
      const environment = deployment.environments[job.environment_name];
      if (environment) return { queue: environment.queue, environmentName: job.environment_name };
      // Open (local) deployments run an undeclared environment on a queue of the same name.
      if (deployment.open) return { queue: job.environment_name, environmentName: job.environment_name };
      throw new ConflictError(`Environment "${job.environment_name}" is no longer part of this deployment.`);
    }
    return { queue: deployment.defaultQueue, environmentName: null };
  }

  async getExecution(jobId: string, executionId: string): Promise<Execution> {
    if (!isJobId(jobId)) throw jobNotFound(jobId);
    if (!isExecutionId(executionId)) throw executionNotFound(executionId);
    const stored = await this.deps.executions.get(jobId, executionId);
    if (!stored) throw executionNotFound(executionId);
    return stored.execution;
  }

  async listExecutions(jobId: string, page: HistoryPage): Promise<ExecutionPage> {
    await this.deps.jobs.get(jobId);
    return this.deps.executions.list(jobId, page);
  }

  /**
   * `GET /executions`: runs of every job, newest first, or of one job (`job_id`, which need not exist
   * any more: its runs stay until retention removes them), in some statuses.
   */
  async listRecent(query: RecentRunsQuery): Promise<RecentExecutionPage> {
    if (query.job_id !== undefined && !isJobId(query.job_id)) {
      throw new ValidationError([
        { path: 'job_id', message: 'must be a job id (job_<uuid>)', code: 'invalid' },
      ]);
    }
    return this.deps.executions.listRecent({
      limit: query.limit,
      ...(query.status !== undefined && { statuses: query.status }),
      ...(query.job_id !== undefined && { jobId: query.job_id }),
      ...(query.cursor !== undefined && { cursor: query.cursor }),
    });
  }

  /**
   * `POST /jobs/{id}/executions/{eid}/replay`: a new run of the job as it is now (its template, entity,
   * queue and config) with the parameters and `config_override` of the run it replays, recorded as its
   * `replay_of`; answered like a trigger. A run recorded before overrides were kept is replayed with its
   * whole `config` as the override. With an idempotency key, a repeated replay of the same run answers
   * with the first one.
   */
  async replay(jobId: string, executionId: string, idempotencyKey?: string): Promise<TriggerResponse> {
    const job = await this.deps.jobs.get(jobId);
    if (!isExecutionId(executionId)) throw executionNotFound(executionId);
    const stored = await this.deps.executions.get(jobId, executionId);
    if (!stored) throw executionNotFound(executionId);
    const { execution: original } = stored;
    const { execution } = await this.startRun(job, {
      trigger_type: 'manual',
      parameters: original.parameters,
      config_override: stored.configOverride === undefined ? original.config : stored.configOverride,
      replayOf: executionId,
      ...(idempotencyKey !== undefined && { dedupeKey: `replay:${executionId}:${idempotencyKey}` }),
    });
    return {
      workflow_id: execution.workflow_id,
      execution_id: execution.execution_id,
      status: execution.status,
    };
  }

  /** `POST /jobs/{id}/executions/{eid}/cancel`: a queued or running run ends as `cancelled`. */
  async cancel(jobId: string, executionId: string): Promise<Execution> {
    const current = await this.getExecution(jobId, executionId);
    if (isTerminal(current.status)) {
      throw new ConflictError(`Execution ${executionId} has already ended (${current.status}).`);
    }
    const now = this.deps.clock.now();
    const cancelled = await this.deps.executions.transition(
      jobId,
      executionId,
      { from: ['queued', 'running'] },
      {
        status: 'cancelled',
        finished_at: now.toISOString(),
        duration_ms: durationMs(current.started_at, now),
      },
    );
    if (!cancelled.ok) {
      const status = cancelled.current?.execution.status ?? current.status;
      throw new ConflictError(`Execution ${executionId} has already ended (${status}).`);
    }
    this.deps.logger.info('run cancelled', { jobId, executionId });
    return cancelled.execution;
  }

  /**
   * `POST /executions/{id}/callback` from a target that accepted the run (202). The token in the
   * request is the only credential; an unknown execution and a wrong token answer alike (401). The
   * result is read only once the token holds, so an unauthenticated caller learns nothing of its rules.
   */
  async callback(
    executionId: string,
    token: string | null,
    result: Deferred<CallbackRequest>,
  ): Promise<Execution> {
    const jobId = token === null ? null : jobIdOfCallbackToken(token);
    const stored =
      jobId !== null && isJobId(jobId) && isExecutionId(executionId)
        ? await this.deps.executions.get(jobId, executionId)
        : null;
    if (!stored || token === null || !tokenMatches(token, stored.callbackTokenHash)) {
      throw new UnauthorizedError('The callback token is missing or does not belong to this execution.');
    }
    const input = readDeferred(result);
    const { execution } = stored;
    if (execution.status !== 'running') {
      throw new ConflictError(
        `Execution ${executionId} is ${execution.status}; it no longer takes a result.`,
      );
    }
    const now = this.deps.clock.now();
    const finished = await this.deps.executions.transition(
      execution.job_id,
      executionId,
      { from: ['running'], attempt: execution.attempt },
      {
        status: input.status,
        ...capOutput(input.output),
        error_message:
          input.status === 'failed' ? truncate(input.error_message ?? 'The target reported failure.') : null,
        finished_at: now.toISOString(),
        duration_ms: durationMs(execution.started_at, now),
        leaseUntil: null,
      },
    );
    if (!finished.ok) throw new ConflictError(`Execution ${executionId} ended before the callback arrived.`);
    this.deps.logger.info('run finished by callback', {
      jobId: execution.job_id,
      executionId,
      status: input.status,
    });
    return finished.execution;
  }

  /**
   * One sweep. Every run that is not finished keeps a message in its queue until it ends (the worker
   * hands messages back rather than delete them, see RunWorker), so the sweep has one gap to close: a
   * process that wrote a run and stopped before sending its message. It reads each run once, a little
   * after it was created (the runs created between the last sweep's checkpoint and now minus
   * `QUEUED_GRACE_SECONDS`), and sends again those still queued for their first attempt. Sending twice is
   * harmless: a run is claimed once. Runs recorded by an earlier version are moved first, until none are
   * left.
   */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { requeued: 0, upgraded: await this.deps.executions.upgrade() };
    const now = this.deps.clock.now();
    const to = new Date(now.getTime() - QUEUED_GRACE_SECONDS * 1000);
    const from =
      (await this.deps.executions.sweepCheckpoint()) ?? new Date(to.getTime() - FIRST_SWEEP_LOOKBACK_MS);
    if (from >= to) return report;
    const { executions: unsent, scannedTo } = await this.deps.executions.findUnsent({ from, to });
    for (const execution of unsent) {
      const fields = { jobId: execution.job_id, executionId: execution.execution_id };
      try {
        await this.deps.queue.send(execution.queue, {
          job_id: execution.job_id,
          execution_id: execution.execution_id,
          attempt: 1,
        });
        report.requeued++;
        this.deps.logger.warn('queued run sent again: its message was never sent or was lost', fields);
      } catch (error) {
        // The checkpoint stays before this run, so the next sweep tries it again.
        this.deps.logger.error('re-enqueue failed; next sweep retries', { ...fields, error });
        return report;
      }
    }
    await this.deps.executions.saveSweepCheckpoint(scannedTo);
    return report;
  }
}

/** The shape `IdGenerator.executionId` issues; anything else cannot name an execution. */
export function isExecutionId(id: string): boolean {
  return /^exec_[0-9a-z]{9}[0-9a-f]{20}$/.test(id);
}

function executionNotFound(executionId: string): NotFoundError {
  return new NotFoundError(`No execution with id "${executionId.slice(0, 100)}" in this job.`);
}

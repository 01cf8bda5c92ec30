import type { Entity } from '../domain/entity.js';
import type { Execution, ExecutionRequest } from '../domain/execution.js';
import { isTerminal } from '../domain/execution.js';
import { retryDelaySeconds, runSettings } from '../domain/run-config.js';
import type {
  Clock,
  DeploymentConfig,
  EntityStore,
  ExecutionChange,
  ExecutionStore,
  Logger,
  RunMessage,
  RunQueue,
  SecretBox,
  StoredExecution,
  TargetInvoker,
} from '../ports.js';
import { entitySecretContext } from './entity-service.js';
import {
  capOutput,
  durationMs,
  endRunningAttempt,
  hashToken,
  newCallbackToken,
  truncate,
} from './run-helpers.js';
import { StartedWorkFollower } from './started-work.js';

export interface RunWorkerDeps {
  entities: EntityStore;
  executions: ExecutionStore;
  queue: RunQueue;
  secrets: SecretBox;
  invoker: TargetInvoker;
  deployment: DeploymentConfig;
  clock: Clock;
  logger: Logger;
}

/**
 * What to do with the message that asked for an attempt: delete it (`done`), or receive it again later
 * (`later`): the run is held by another worker's live lease, and the message must outlive that worker in
 * case it dies, so that the run is taken over once the lease lapses.
 */
export type MessageOutcome = { kind: 'done' } | { kind: 'later'; afterSeconds: number };

const DONE: MessageOutcome = { kind: 'done' };

/** Time kept back from the worker's own budget to record the outcome after a slow target. */
const RECORD_MARGIN_MS = 5_000;

/** The margin, but never more than a fifth of a small budget, so short functions still call their target. */
const recordMargin = (budgetMs: number) => Math.min(RECORD_MARGIN_MS, budgetMs / 5);

/**
 * Runs one attempt of an execution from a queue message: claim it, invoke the entity's target, record
 * the outcome or schedule the next attempt. Every write is conditional on the state it was decided
 * from, so a message delivered twice, or a worker that died mid-run, never produces a second record.
 */
export class RunWorker {
  private readonly startedWork: StartedWorkFollower;

  constructor(private readonly deps: RunWorkerDeps) {
    this.startedWork = new StartedWorkFollower(deps);
  }

  /** `budgetMs`: how long this worker may spend (the Lambda's remaining time). */
  async handle(message: RunMessage, budgetMs: number): Promise<MessageOutcome> {
    const { executions, logger, clock } = this.deps;
    const fields = { jobId: message.job_id, executionId: message.execution_id, attempt: message.attempt };
    // The claim comes first, with no read before it: for a fresh run, the one write of the hot path.
    const token = newCallbackToken(message.job_id);
    const now = clock.now();
    const claim = await executions.claim(message.job_id, message.execution_id, {
      attempt: message.attempt,
      now,
      leaseUntil: new Date(now.getTime() + budgetMs).toISOString(),
      callbackTokenHash: hashToken(token),
    });
    if (claim.ok) return this.runAttempt(claim.execution, token, budgetMs, fields);
    const current = claim.current;
    if (!current || isTerminal(current.execution.status)) {
      logger.info('message for a missing or finished run acknowledged', fields);
      if (current) await this.startedWork.stopIfEndedEarly(current.execution);
      return DONE;
    }
    if (current.execution.status === 'queued') {
      await this.resendCurrentAttempt(current.execution, message, fields);
      return DONE;
    }
    // A run whose target started work (a state machine execution): this message is a check on it.
    if (current.execution.target_execution_arn !== undefined)
      return this.startedWork.follow(current, budgetMs);
    const held = await this.heldElsewhere(current);
    if (held) return held;
    return this.takeOver(current, budgetMs, fields);
  }

  /**
   * A run whose lease has lapsed: the worker holding it died or ran out of time mid-run. It is taken over
   * as the next attempt, in the same record, or fails if that was its last attempt.
   */
  private async takeOver(
    stored: StoredExecution,
    budgetMs: number,
    fields: Record<string, unknown>,
  ): Promise<MessageOutcome> {
    const { execution } = stored;
    const now = this.deps.clock.now();
    const takeover = {
      from: ['running'] as const,
      attempt: execution.attempt,
      leaseExpiredBefore: now.toISOString(),
    };
    if (execution.attempt >= execution.max_attempts) {
      const failed = await this.deps.executions.transition(
        execution.job_id,
        execution.execution_id,
        takeover,
        {
          status: 'failed',
          error_message: 'The worker stopped during every attempt.',
          finished_at: now.toISOString(),
          duration_ms: durationMs(execution.started_at, now),
          leaseUntil: null,
        },
      );
      if (failed.ok) this.deps.logger.error('run failed: workers stopped mid-run in every attempt', fields);
      return DONE;
    }
    const token = newCallbackToken(execution.job_id);
    const taken = await this.deps.executions.transition(execution.job_id, execution.execution_id, takeover, {
      attempt: execution.attempt + 1,
      leaseUntil: new Date(now.getTime() + budgetMs).toISOString(),
      callbackTokenHash: hashToken(token),
    });
    if (!taken.ok) {
      // Another worker took it over first: keep the message while that one holds the run.
      const latest = taken.current;
      return latest ? ((await this.heldElsewhere(latest)) ?? DONE) : DONE;
    }
    this.deps.logger.warn('run taken over after its worker stopped', {
      ...fields,
      attempt: taken.execution.attempt,
    });
    return this.runAttempt(taken.execution, token, budgetMs, fields);
  }

  /**
   * A message of an earlier attempt for a run queued for a later one. Normally the worker that queued the
   * retry sent its message before this one was deleted, so this is a duplicate; but if that worker died
   * between the two, this message is all the run has left. Sending the current attempt's message again
   * (after its backoff) covers both: a second copy is claimed once.
   */
  private async resendCurrentAttempt(
    execution: Execution,
    message: RunMessage,
    fields: Record<string, unknown>,
  ): Promise<void> {
    if (message.attempt >= execution.attempt) {
      this.deps.logger.info('message for an attempt the run is not at acknowledged', fields);
      return;
    }
    const delay = retryDelaySeconds(runSettings(execution.config), execution.attempt - 1);
    await this.deps.queue.send(
      execution.queue,
      { job_id: execution.job_id, execution_id: execution.execution_id, attempt: execution.attempt },
      delay,
    );
    this.deps.logger.info('message for an earlier attempt replaced by the current attempt’s', {
      ...fields,
      currentAttempt: execution.attempt,
      delaySeconds: delay,
    });
  }

  /**
   * For a `running` run: `later` while its lease holds (its worker may still finish it, or may have died;
   * the message must outlive it), or, for a run its target accepted (202), until its deadline — and at the
   * deadline, the run is timed out here. Null when the lease has lapsed: the run is to be taken over.
   */
  private async heldElsewhere(stored: StoredExecution): Promise<MessageOutcome | null> {
    const { execution, leaseUntil } = stored;
    const now = this.deps.clock.now();
    const accepted =
      execution.deadline_at !== null && leaseUntil !== null && leaseUntil >= execution.deadline_at;
    if (accepted) {
      const untilDeadline = Date.parse(execution.deadline_at as string) - now.getTime();
      if (untilDeadline > 0) return { kind: 'later', afterSeconds: Math.ceil(untilDeadline / 1000) };
      const ended = await this.deps.executions.transition(
        execution.job_id,
        execution.execution_id,
        { from: ['running'], attempt: execution.attempt },
        {
          status: 'timed_out',
          error_message: `No result within the ${runSettings(execution.config).timeoutSeconds} s timeout.`,
          finished_at: now.toISOString(),
          duration_ms: durationMs(execution.started_at, now),
          leaseUntil: null,
        },
      );
      if (ended.ok) {
        this.deps.logger.warn('run timed out waiting for its callback', {
          jobId: execution.job_id,
          executionId: execution.execution_id,
        });
      }
      return DONE;
    }
    if (leaseUntil === null) return null;
    const remainingMs = Date.parse(leaseUntil) - now.getTime();
    if (remainingMs <= 0) return null;
    this.deps.logger.info('run held by a live worker; message kept for after its lease', {
      jobId: execution.job_id,
      executionId: execution.execution_id,
    });
    return { kind: 'later', afterSeconds: Math.ceil(remainingMs / 1000) + 1 };
  }

  /**
   * One attempt of a claimed run. Its message is done with, except for a run its target accepted (202):
   * that message stays until the run's deadline, when it comes back and times the run out unless the
   * callback has ended it.
   */
  private async runAttempt(
    claimed: Execution,
    token: string,
    budgetMs: number,
    fields: Record<string, unknown>,
  ): Promise<MessageOutcome> {
    const { logger, clock } = this.deps;
    const now = clock.now();
    const runFields = { ...fields, attempt: claimed.attempt };
    const deadline = Date.parse(claimed.deadline_at as string);
    const { timeoutSeconds } = runSettings(claimed.config);
    if (Date.parse(claimed.created_at) + timeoutSeconds * 1000 < now.getTime() && claimed.attempt === 1) {
      // It waited in its queue longer than it may run: no worker took it in time.
      await this.finish(claimed, 'failed', {
        error_message: truncate(
          `Not started within its ${timeoutSeconds} s timeout (no worker took it from queue "${claimed.queue}").`,
        ),
      });
      return DONE;
    }
    if (deadline <= now.getTime()) {
      await this.finish(claimed, 'timed_out', {
        error_message: 'The deadline passed before the run could start.',
      });
      return DONE;
    }

    const entity = await this.deps.entities.getTarget(claimed.entity_id);
    if (!entity) {
      await this.finish(claimed, 'failed', {
        error_message: `Entity "${claimed.entity_id}" no longer exists.`,
      });
      return DONE;
    }
    const signingSecret =
      entity.sealedSecret === null
        ? null
        : await this.deps.secrets.open(entity.sealedSecret, entitySecretContext(entity.entity.id));
    const request = this.request(claimed, entity.entity, token);
    const timeoutMs = Math.max(1, Math.min(deadline - now.getTime(), budgetMs - recordMargin(budgetMs)));
    logger.info('invoking target', {
      ...runFields,
      entityId: entity.entity.id,
      target: entity.entity.target.type,
    });
    const outcome = await this.deps.invoker.invoke(entity.entity.target, request, {
      signingSecret,
      timeoutMs,
    });
    const after = clock.now();

    const ref = 'ref' in outcome && outcome.ref !== undefined ? { target_execution_arn: outcome.ref } : {};
    if (outcome.kind === 'succeeded') {
      await this.finish(claimed, 'succeeded', { ...capOutput(outcome.output), error_message: null, ...ref });
      logger.info('run succeeded', runFields);
      return DONE;
    }
    if (outcome.kind === 'started') return this.startedWork.begin(claimed, outcome.ref, runFields);
    if (outcome.kind === 'accepted') {
      // The target finishes through the callback; until the deadline no redelivery may take over.
      const accepted = await this.deps.executions.transition(
        claimed.job_id,
        claimed.execution_id,
        { from: ['running'], attempt: claimed.attempt },
        { leaseUntil: claimed.deadline_at },
      );
      logger.info('run accepted; waiting for callback', runFields);
      if (!accepted.ok) return DONE;
      const untilDeadline = deadline - clock.now().getTime();
      return { kind: 'later', afterSeconds: Math.max(1, Math.ceil(untilDeadline / 1000)) };
    }
    if (outcome.timedOut && after.getTime() >= deadline) {
      await this.finish(claimed, 'timed_out', { error_message: truncate(outcome.error) });
      logger.warn('run timed out', runFields);
      return DONE;
    }
    const settings = runSettings(claimed.config);
    const delay = retryDelaySeconds(settings, claimed.attempt);
    const canRetry =
      outcome.retryable &&
      claimed.attempt < claimed.max_attempts &&
      after.getTime() + delay * 1000 < deadline;
    if (!canRetry) {
      await this.finish(claimed, 'failed', { error_message: truncate(outcome.error), ...ref });
      logger.warn('run failed', { ...runFields, error: outcome.error });
      return DONE;
    }
    const requeued = await this.deps.executions.transition(
      claimed.job_id,
      claimed.execution_id,
      { from: ['running'], attempt: claimed.attempt },
      {
        status: 'queued',
        attempt: claimed.attempt + 1,
        error_message: truncate(outcome.error),
        leaseUntil: null,
        // The finished attempt's token stops working: callbacks belong to the attempt that is running.
        callbackTokenHash: '',
      },
    );
    if (!requeued.ok) return DONE;
    logger.warn('attempt failed; retrying', { ...runFields, delaySeconds: delay, error: outcome.error });
    // If this send is lost, this message is not deleted (the handler fails) and its redelivery sends it.
    await this.deps.queue.send(
      claimed.queue,
      { job_id: claimed.job_id, execution_id: claimed.execution_id, attempt: claimed.attempt + 1 },
      delay,
    );
    return DONE;
  }

  /**
   * The message's last delivery failed and it is about to move to the dead-letter queue: end the run
   * as `failed` with the reason, so it is never left hanging until its deadline.
   */
  async abandon(message: RunMessage, reason: string): Promise<void> {
    const now = this.deps.clock.now();
    const stored = await this.deps.executions.get(message.job_id, message.execution_id);
    if (!stored || isTerminal(stored.execution.status)) return;
    const ended = await this.deps.executions.transition(
      message.job_id,
      message.execution_id,
      { from: ['queued', 'running'], attempt: stored.execution.attempt },
      {
        status: 'failed',
        error_message: truncate(reason),
        finished_at: now.toISOString(),
        duration_ms: durationMs(stored.execution.started_at, now),
        leaseUntil: null,
      },
    );
    if (ended.ok) {
      this.deps.logger.error('run failed: its message went to the dead-letter queue', {
        jobId: message.job_id,
        executionId: message.execution_id,
      });
    }
  }

  private finish(
    execution: Execution,
    status: 'succeeded' | 'failed' | 'timed_out',
    fields: Pick<ExecutionChange, 'output' | 'output_truncated' | 'error_message' | 'target_execution_arn'>,
  ): Promise<void> {
    return endRunningAttempt(this.deps.executions, this.deps.clock.now(), execution, status, fields);
  }

  private request(
    execution: Execution,
    entity: Pick<Entity, 'id' | 'type' | 'name'>,
    token: string,
  ): ExecutionRequest {
    const environment =
      execution.environment_name === null
        ? null
        : {
            name: execution.environment_name,
            variables: this.deps.deployment.environments[execution.environment_name]?.variables ?? {},
          };
    return {
      execution_id: execution.execution_id,
      workflow_id: execution.workflow_id,
      job_id: execution.job_id,
      job_name: execution.job_name,
      entity: { id: entity.id, type: entity.type, name: entity.name },
      trigger_type: execution.trigger_type,
      prompt: execution.prompt,
      system_prompt: execution.system_prompt,
      parameters: execution.parameters,
      config: execution.config,
      metadata: execution.metadata,
      environment,
      attempt: execution.attempt,
      deadline_at: execution.deadline_at as string,
      callback: {
        url: `${this.deps.deployment.publicBaseUrl.replace(/\/$/, '')}/executions/${execution.execution_id}/callback`,
        token,
      },
    };
  }
}

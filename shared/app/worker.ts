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
import { entitySecretContext } from './entities.js';
import { addSeconds, capOutput, durationMs, hashToken, newCallbackToken, truncate } from './run-helpers.js';
import { QUEUED_GRACE_SECONDS } from './runs.js';

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
  constructor(private readonly deps: RunWorkerDeps) {}

  /** `budgetMs`: how long this worker may spend (the Lambda's remaining time). */
  async handle(message: RunMessage, budgetMs: number): Promise<MessageOutcome> {
    const { executions, logger } = this.deps;
    const fields = { jobId: message.job_id, executionId: message.execution_id, attempt: message.attempt };
    const stored = await executions.get(message.job_id, message.execution_id);
    if (!stored || isTerminal(stored.execution.status)) {
      logger.info('message for a missing or finished run acknowledged', fields);
      return DONE;
    }
    if (stored.execution.status === 'queued' && message.attempt !== stored.execution.attempt) {
      await this.resendCurrentAttempt(stored.execution, message, fields);
      return DONE;
    }
    const held = this.heldElsewhere(stored);
    if (held) {
      logger.info(
        held.kind === 'later'
          ? 'run held by a live worker; message kept for after its lease'
          : 'run waits for its callback; message acknowledged',
        { ...fields, ...held },
      );
      return held;
    }
    // Each attempt gets a fresh callback token; only its hash is stored, with the claim.
    const token = newCallbackToken(message.job_id);
    const claimed = await this.claim(stored.execution, budgetMs, hashToken(token));
    if (!claimed) {
      // Another worker got there between our read and our write: keep the message while it holds the run.
      const latest = await executions.get(message.job_id, message.execution_id);
      const lost = latest ? this.heldElsewhere(latest) : null;
      logger.info('run claimed by another worker', { ...fields, kept: lost !== null });
      return lost ?? DONE;
    }
    await this.runAttempt(claimed, token, budgetMs, fields);
    return DONE;
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
    if (message.attempt > execution.attempt) {
      this.deps.logger.info('message for a later attempt than the run is at acknowledged', fields);
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
   * `later` while the run is `running` under a lease that has not lapsed: its worker may still finish
   * it, or may have died. A run that handed itself to its target (202) is the callback's and the
   * sweeper's: nothing to wait for.
   */
  private heldElsewhere(stored: StoredExecution): MessageOutcome | null {
    const { execution, leaseUntil } = stored;
    if (execution.status !== 'running' || leaseUntil === null) return null;
    const remainingMs = Date.parse(leaseUntil) - this.deps.clock.now().getTime();
    if (remainingMs <= 0) return null;
    if (execution.deadline_at !== null && leaseUntil >= execution.deadline_at) return DONE;
    return { kind: 'later', afterSeconds: Math.ceil(remainingMs / 1000) + 1 };
  }

  private async runAttempt(
    claimed: Execution,
    token: string,
    budgetMs: number,
    fields: Record<string, unknown>,
  ): Promise<void> {
    const { logger, clock } = this.deps;
    const now = clock.now();
    const runFields = { ...fields, attempt: claimed.attempt };
    if (claimed.status !== 'running') {
      logger.error('run failed: workers stopped mid-run in every attempt', runFields);
      return;
    }
    const deadline = Date.parse(claimed.deadline_at as string);
    if (deadline <= now.getTime()) {
      await this.finish(claimed, 'timed_out', {
        error_message: 'The deadline passed before the run could start.',
      });
      return;
    }

    const entity = await this.deps.entities.get(claimed.entity_id);
    if (!entity) {
      await this.finish(claimed, 'failed', {
        error_message: `Entity "${claimed.entity_id}" no longer exists.`,
      });
      return;
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

    if (outcome.kind === 'succeeded') {
      await this.finish(claimed, 'succeeded', { ...capOutput(outcome.output), error_message: null });
      logger.info('run succeeded', runFields);
      return;
    }
    if (outcome.kind === 'accepted') {
      // The target finishes through the callback; until the deadline no redelivery may take over.
      await this.deps.executions.transition(
        claimed.job_id,
        claimed.execution_id,
        { from: ['running'], attempt: claimed.attempt },
        { leaseUntil: claimed.deadline_at, sweepAt: claimed.deadline_at as string },
      );
      logger.info('run accepted; waiting for callback', runFields);
      return;
    }
    if (outcome.timedOut && after.getTime() >= deadline) {
      await this.finish(claimed, 'timed_out', { error_message: truncate(outcome.error) });
      logger.warn('run timed out', runFields);
      return;
    }
    const settings = runSettings(claimed.config);
    const delay = retryDelaySeconds(settings, claimed.attempt);
    const canRetry =
      outcome.retryable &&
      claimed.attempt < claimed.max_attempts &&
      after.getTime() + delay * 1000 < deadline;
    if (!canRetry) {
      await this.finish(claimed, 'failed', { error_message: truncate(outcome.error) });
      logger.warn('run failed', { ...runFields, error: outcome.error });
      return;
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
        sweepAt: addSeconds(after, delay + QUEUED_GRACE_SECONDS).toISOString(),
      },
    );
    if (!requeued) return;
    logger.warn('attempt failed; retrying', { ...runFields, delaySeconds: delay, error: outcome.error });
    try {
      await this.deps.queue.send(
        claimed.queue,
        { job_id: claimed.job_id, execution_id: claimed.execution_id, attempt: claimed.attempt + 1 },
        delay,
      );
    } catch (error) {
      logger.error('retry enqueue failed; the sweeper will send it', { ...runFields, error });
    }
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
    if (ended) {
      this.deps.logger.error('run failed: its message went to the dead-letter queue', {
        jobId: message.job_id,
        executionId: message.execution_id,
      });
    }
  }

  /**
   * queued → running for the message's attempt; or, for a run whose worker's lease has lapsed (it died
   * or timed out mid-run), running → running with the next attempt number.
   */
  private async claim(
    execution: Execution,
    budgetMs: number,
    callbackTokenHash: string,
  ): Promise<Execution | null> {
    const now = this.deps.clock.now();
    const leaseUntil = new Date(now.getTime() + budgetMs).toISOString();
    const startedAt = execution.started_at ?? now.toISOString();
    const deadlineAt =
      execution.deadline_at ?? addSeconds(now, runSettings(execution.config).timeoutSeconds).toISOString();
    const change: ExecutionChange = {
      status: 'running',
      started_at: startedAt,
      lateness_ms:
        execution.scheduled_at === null
          ? null
          : Math.max(0, Date.parse(startedAt) - Date.parse(execution.scheduled_at)),
      deadline_at: deadlineAt,
      leaseUntil,
      sweepAt: deadlineAt,
      callbackTokenHash,
    };
    if (execution.status === 'queued') {
      return this.deps.executions.transition(
        execution.job_id,
        execution.execution_id,
        { from: ['queued'], attempt: execution.attempt },
        change,
      );
    }
    // A lapsed lease: the worker holding the run died or ran out of time mid-run.
    const takeover = {
      from: ['running'] as const,
      attempt: execution.attempt,
      leaseExpiredBefore: now.toISOString(),
    };
    if (execution.attempt >= execution.max_attempts) {
      return this.deps.executions.transition(execution.job_id, execution.execution_id, takeover, {
        status: 'failed',
        error_message: 'The worker stopped during every attempt.',
        finished_at: now.toISOString(),
        duration_ms: durationMs(execution.started_at, now),
        leaseUntil: null,
      });
    }
    return this.deps.executions.transition(execution.job_id, execution.execution_id, takeover, {
      ...change,
      attempt: execution.attempt + 1,
    });
  }

  private async finish(
    execution: Execution,
    status: 'succeeded' | 'failed' | 'timed_out',
    fields: Pick<ExecutionChange, 'output' | 'output_truncated' | 'error_message'>,
  ): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.executions.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: execution.attempt },
      {
        status,
        ...fields,
        finished_at: now.toISOString(),
        duration_ms: durationMs(execution.started_at, now),
        leaseUntil: null,
      },
    );
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

import type { Execution, ExecutionStatus } from '../domain/execution.js';
import { runSettings } from '../domain/run-config.js';
import type {
  Clock,
  ExecutionChange,
  ExecutionStore,
  Logger,
  RunQueue,
  StoredExecution,
  TargetInvoker,
} from '../ports.js';
import { capOutput, endRunningAttempt, truncate } from './run-helpers.js';
import type { MessageOutcome } from './run-worker.js';

export interface StartedWorkDeps {
  executions: ExecutionStore;
  queue: RunQueue;
  invoker: TargetInvoker;
  clock: Clock;
  logger: Logger;
}

const DONE: MessageOutcome = { kind: 'done' };

/** Shortest and longest wait between two checks of started work. */
const MIN_CHECK_DELAY_SECONDS = 2;
const MAX_CHECK_DELAY_SECONDS = 60;
/** Longest one check may take (DescribeExecution answers in milliseconds). */
const CHECK_TIMEOUT_MS = 10_000;

/** Runs ended by the service that leave started work running unless it is stopped. */
const ENDED_EARLY: readonly ExecutionStatus[] = ['timed_out', 'cancelled'];

function afterLease(leaseUntil: string, now: Date): MessageOutcome {
  const remainingMs = Math.max(0, Date.parse(leaseUntil) - now.getTime());
  return { kind: 'later', afterSeconds: Math.ceil(remainingMs / 1000) + 1 };
}

/**
 * When to check on a run's started work next: after half the time it has run so far, between 2 s and a
 * minute (so a short execution is seen to end within seconds, and a long one costs a check a minute), and
 * never after the run's deadline, when the work is stopped.
 */
export function nextCheckAt(execution: Execution, now: Date): Date {
  const startedAt = Date.parse(execution.started_at ?? now.toISOString());
  const elapsedSeconds = Math.max(0, (now.getTime() - startedAt) / 1000);
  const delaySeconds = Math.min(
    MAX_CHECK_DELAY_SECONDS,
    Math.max(MIN_CHECK_DELAY_SECONDS, Math.ceil(elapsedSeconds / 2)),
  );
  const deadline = Date.parse(execution.deadline_at as string);
  return new Date(Math.max(now.getTime(), Math.min(now.getTime() + delaySeconds * 1000, deadline)));
}

/**
 * Follows work a target started for a run (a Step Functions execution) until it ends. The run stays
 * `running` with the work's reference recorded (`target_execution_arn`); each check is one queue message,
 * sent with a delay for the next check, and the run's lease says when that check is due. A worker takes a
 * check with a write conditional on the lease having lapsed, so of several copies of a message one checks
 * and the others come back after the lease (and, past the queue's receive count, are dropped). Each check
 * leaves exactly one message for the next (a new one, so the receive count never runs out); a worker that
 * dies mid-check leaves its own message, which comes back and checks again. At the run's deadline the work
 * is stopped and the run times out; a run that ended otherwise (cancelled, or timed out by another worker) has
 * its work stopped by the next message that finds it.
 */
export class StartedWorkFollower {
  constructor(private readonly deps: StartedWorkDeps) {}

  /** The target started `ref` for the claimed run: record it and send the message of the first check. */
  async begin(claimed: Execution, ref: string, fields: Record<string, unknown>): Promise<MessageOutcome> {
    const now = this.deps.clock.now();
    const checkAt = nextCheckAt(claimed, now);
    const recorded = await this.deps.executions.transition(
      claimed.job_id,
      claimed.execution_id,
      { from: ['running'], attempt: claimed.attempt },
      { target_execution_arn: ref, leaseUntil: checkAt.toISOString() },
    );
    if (!recorded.ok) {
      // The run ended while the target started the work (cancelled, timed out): it must not run on.
      const status = recorded.current?.execution.status ?? 'gone';
      await this.stopQuietly(ref, `The run ended (${status}) as the work started.`, fields);
      return DONE;
    }
    await this.sendCheck(claimed, checkAt, now);
    this.deps.logger.info('target started work; checking on it until it ends', {
      ...fields,
      targetExecutionArn: ref,
    });
    return DONE;
  }

  /** A message for a running run whose target started work: check on the work if a check is due. */
  async follow(stored: StoredExecution, budgetMs: number): Promise<MessageOutcome> {
    const { execution, leaseUntil } = stored;
    const ref = execution.target_execution_arn as string;
    const fields = { jobId: execution.job_id, executionId: execution.execution_id, targetExecutionArn: ref };
    const now = this.deps.clock.now();
    // Not due yet, or another worker is checking: this copy comes back after the lease.
    if (leaseUntil !== null && Date.parse(leaseUntil) > now.getTime()) return afterLease(leaseUntil, now);
    const checkAt = nextCheckAt(execution, now);
    // A check is due at its lease (the message was sent to arrive then): a lease up to now, to the millisecond.
    const dueBefore = new Date(now.getTime() + 1).toISOString();
    const taken = await this.deps.executions.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: execution.attempt, leaseExpiredBefore: dueBefore },
      { leaseUntil: checkAt.toISOString() },
    );
    if (!taken.ok) {
      const current = taken.current;
      if (current?.execution.status !== 'running') {
        if (current) await this.stopIfEndedEarly(current.execution);
        return DONE;
      }
      return afterLease(current.leaseUntil ?? now.toISOString(), now);
    }

    const timeoutMs = Math.max(1, Math.min(CHECK_TIMEOUT_MS, budgetMs / 2));
    const state = (await this.deps.invoker.check?.(ref, { timeoutMs })) ?? {
      kind: 'unknown' as const,
      error: 'This runtime cannot check on started work.',
      retryable: false,
    };
    const after = this.deps.clock.now();
    if (state.kind === 'succeeded') {
      await this.end(execution, 'succeeded', { ...capOutput(state.output), error_message: null });
      this.deps.logger.info('run succeeded', fields);
      return DONE;
    }
    if (state.kind === 'failed' || (state.kind === 'unknown' && !state.retryable)) {
      await this.end(execution, 'failed', { error_message: truncate(state.error) });
      this.deps.logger.warn('run failed', { ...fields, error: state.error });
      return DONE;
    }
    if (state.kind === 'unknown')
      this.deps.logger.warn('could not check on started work', { ...fields, error: state.error });
    if (after.getTime() >= Date.parse(execution.deadline_at as string)) {
      const timeout = `No result within the ${runSettings(execution.config).timeoutSeconds} s timeout`;
      await this.stopQuietly(ref, `${timeout}.`, fields);
      await this.end(execution, 'timed_out', { error_message: `${timeout}; the work was stopped.` });
      this.deps.logger.warn('run timed out; its started work was stopped', fields);
      return DONE;
    }
    await this.sendCheck(execution, checkAt, after);
    return DONE;
  }

  /** A run that ended while its work may still run (cancelled, or timed out elsewhere): stop the work. */
  async stopIfEndedEarly(execution: Execution): Promise<void> {
    const ref = execution.target_execution_arn;
    if (ref === undefined || !ENDED_EARLY.includes(execution.status)) return;
    await this.stopQuietly(ref, `The run ended as ${execution.status}.`, {
      jobId: execution.job_id,
      executionId: execution.execution_id,
    });
  }

  private async sendCheck(execution: Execution, checkAt: Date, now: Date): Promise<void> {
    const delaySeconds = Math.max(0, Math.ceil((checkAt.getTime() - now.getTime()) / 1000));
    await this.deps.queue.send(
      execution.queue,
      { job_id: execution.job_id, execution_id: execution.execution_id, attempt: execution.attempt },
      delaySeconds,
    );
  }

  /** Stops the work; a failure is logged, not thrown: the run's record is what matters, and it is decided. */
  private async stopQuietly(ref: string, reason: string, fields: Record<string, unknown>): Promise<void> {
    try {
      await this.deps.invoker.stop?.(ref, reason);
      this.deps.logger.info('started work stopped', { ...fields, targetExecutionArn: ref, reason });
    } catch (error) {
      this.deps.logger.warn('could not stop started work', { ...fields, targetExecutionArn: ref, error });
    }
  }

  private end(
    execution: Execution,
    status: 'succeeded' | 'failed' | 'timed_out',
    fields: Pick<ExecutionChange, 'output' | 'output_truncated' | 'error_message'>,
  ): Promise<void> {
    return endRunningAttempt(this.deps.executions, this.deps.clock.now(), execution, status, fields);
  }
}

import { type ExecutionStatus, isTerminal } from '../domain/execution.js';
import type { ExecutionStore, Logger, RunOutcomeListener } from '../ports.js';
import { observeExecutionWrites } from './observed-execution-store.js';

/**
 * The execution store, telling `listener` of every run that reached a terminal status through it: after a
 * transition to one (the worker's end of a run, a takeover's failure, a callback, a cancel), and again
 * when a worker's claim finds the run already ended, which is a message delivered again after its worker
 * stopped, maybe before the listener heard of the end. So the listener hears of each end at least once,
 * and must be idempotent (the alert service is).
 *
 * Wrapping the store, rather than calling the listener from each place a run ends, keeps the run path
 * unaware of alerting. With `rethrow` (the workers) a listener failure fails the message, which comes
 * back and tells the listener again; without it (the API: a callback or a cancel has already happened)
 * it is logged, and the run's message, which outlives its end, tells the listener when it comes back.
 */
export function observeRunOutcomes(
  store: ExecutionStore,
  listener: RunOutcomeListener,
  options: { logger: Logger; rethrow: boolean },
): ExecutionStore {
  const tell = async (execution: Parameters<RunOutcomeListener['runEnded']>[0]) => {
    try {
      await listener.runEnded(execution);
    } catch (error) {
      options.logger.error('run outcome not yet handled by alerting', {
        jobId: execution.job_id,
        executionId: execution.execution_id,
        error,
      });
      if (options.rethrow) throw error;
    }
  };
  return observeExecutionWrites(store, {
    async transitioned(result, change) {
      if (result.ok && change.status !== undefined && isTerminal(change.status as ExecutionStatus)) {
        await tell(result.execution);
      }
    },
    async claimed(result) {
      if (!result.ok && result.current && isTerminal(result.current.execution.status)) {
        await tell(result.current.execution);
      }
    },
  });
}

import type { ExecutionChange, ExecutionStore, StartRunOutcome, TransitionResult } from '../ports.js';

/** What an observer of an execution store is told after each write, with the write's result. */
export interface ExecutionWriteHooks {
  started?(outcome: StartRunOutcome): Promise<void>;
  claimed?(result: TransitionResult): Promise<void>;
  transitioned?(result: TransitionResult, change: ExecutionChange): Promise<void>;
}

/**
 * `store`, calling `hooks` after each write it makes (a hook's failure is the write's caller's to handle);
 * reads pass straight through. Alerting and the run events observe runs this way, so the run path does
 * not know they exist.
 */
export function observeExecutionWrites(store: ExecutionStore, hooks: ExecutionWriteHooks): ExecutionStore {
  // Every method named, so a method added to the port does not compile until it is decided here.
  return {
    async start(request) {
      const outcome = await store.start(request);
      await hooks.started?.(outcome);
      return outcome;
    },
    get: (jobId, executionId) => store.get(jobId, executionId),
    findByDedupeKey: (jobId, key) => store.findByDedupeKey(jobId, key),
    list: (jobId, options) => store.list(jobId, options),
    listRecent: (options) => store.listRecent(options),
    findUnsent: (window) => store.findUnsent(window),
    sweepCheckpoint: () => store.sweepCheckpoint(),
    saveSweepCheckpoint: (at) => store.saveSweepCheckpoint(at),
    upgrade: () => store.upgrade(),
    async claim(jobId, executionId, claim) {
      const result = await store.claim(jobId, executionId, claim);
      await hooks.claimed?.(result);
      return result;
    },
    async transition(jobId, executionId, condition, change) {
      const result = await store.transition(jobId, executionId, condition, change);
      await hooks.transitioned?.(result, change);
      return result;
    },
  };
}

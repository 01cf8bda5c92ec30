import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { RunService, type RunServiceDeps } from '../app/runs.js';

/** The sweeper Lambda, fired every minute: one idempotent sweep (see RunService.sweep). */
export function makeSweeperHandler(deps: RunServiceDeps) {
  const runs = new RunService(deps);
  return middy<ScheduledEvent, { timedOut: number; requeued: number; failed: number }>().handler(async () => {
    const report = await runs.sweep();
    deps.logger.info('sweep finished', report);
    return report;
  });
}

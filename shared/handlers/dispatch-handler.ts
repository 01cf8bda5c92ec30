import middy from '@middy/core';
import * as z from 'zod/mini';
import type { RunService } from '../app/run-service.js';
import { ValidationError } from '../domain/errors.js';
import type { Logger } from '../ports.js';
import { scopedToInvocation } from './invocation-scope.js';

/** What EventBridge Scheduler (or the local scheduler) sends: the job and the fire time it is for. */
export const DispatchEventSchema = z.object({
  job_id: z.string().check(z.minLength(1), z.maxLength(200)),
  scheduled_time: z.string().check(z.minLength(1), z.maxLength(100)),
});
export type DispatchEvent = z.infer<typeof DispatchEventSchema>;

export type DispatchResult = { outcome: 'started' | 'duplicate' | 'skipped' | 'ignored' | 'dropped' };

/**
 * The dispatch Lambda, target of every job schedule: one fire starts at most one run (dedupe on job id +
 * scheduled time, so the Scheduler's at-least-once delivery never runs a fire twice). An event that can
 * never succeed (unreadable, for a job that is gone) is logged and acknowledged; anything else that fails
 * throws. The Scheduler invokes the function asynchronously, so Lambda retries a throwing fire (twice) and
 * then sends the event to the function's dead-letter queue, the scheduler DLQ, which is alarmed on; the
 * Scheduler's own retry policy covers invocations Lambda did not accept (throttling, unavailability).
 */
export interface DispatchHandlerDeps {
  runs: RunService;
  logger: Logger;
}

export function makeDispatchHandler(deps: DispatchHandlerDeps) {
  const { runs } = deps;
  const handler = middy<unknown, DispatchResult>().handler(async (event) => {
    const parsed = DispatchEventSchema.safeParse(event);
    if (!parsed.success) {
      deps.logger.error('unreadable schedule event dropped', {
        event: JSON.stringify(event ?? null).slice(0, 500),
      });
      return { outcome: 'dropped' };
    }
    return deps.logger.withKeys({ job_id: parsed.data.job_id }, async () => {
      try {
        const outcome = await runs.dispatchCron(parsed.data.job_id, parsed.data.scheduled_time);
        return { outcome: outcome?.kind ?? 'ignored' };
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        deps.logger.error('unreadable schedule event dropped', { ...parsed.data, error });
        return { outcome: 'dropped' };
      }
    });
  });
  return scopedToInvocation(deps.logger, handler);
}

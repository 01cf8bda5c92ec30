import type { Logger } from '../../shared/ports.js';
import { type QueueTimers, realTimers } from './local-queue-options.js';

export interface IntervalTaskOptions {
  /** Time from the end of one run to the start of the next. */
  intervalMs: number;
  logger: Logger;
  /** Names the task in logs. */
  name: string;
  /** @default realTimers */
  timers?: Pick<QueueTimers, 'setTimeout' | 'clearTimeout'>;
}

export interface IntervalTask {
  /** Stops scheduling runs and waits for the current one (and any queued by `runNow`). */
  stop(): Promise<void>;
  /** Runs the task now, after the current run if there is one, and resolves when it is done. No-op after `stop`. */
  runNow(): Promise<void>;
}

/**
 * Runs `fn` every `intervalMs`, first after one interval, never overlapping itself: the next run is
 * timed from the end of the previous one. A failure is logged and the schedule goes on.
 */
export function startIntervalTask(fn: () => Promise<unknown>, options: IntervalTaskOptions): IntervalTask {
  const { intervalMs, logger, name } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0)
    throw new RangeError('intervalMs must be a positive number.');
  const timers = options.timers ?? realTimers;
  let stopped = false;
  let timer: unknown;
  // Every run is chained after the previous one, which is what keeps runs from overlapping.
  let tail: Promise<void> = Promise.resolve();

  const runOnce = async () => {
    const started = Date.now();
    try {
      await fn();
      logger.debug('interval task ran', { task: name, durationMs: Date.now() - started });
    } catch (error) {
      logger.error('interval task failed', { task: name, durationMs: Date.now() - started, error });
    }
  };
  const enqueue = (): Promise<void> => {
    tail = tail.then(runOnce);
    return tail;
  };
  const schedule = () => {
    if (stopped) return;
    timer = timers.setTimeout(() => {
      timer = undefined;
      void enqueue().then(schedule);
    }, intervalMs);
  };
  schedule();

  return {
    runNow: () => (stopped ? Promise.resolve() : enqueue()),
    stop: async () => {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      await tail;
    },
  };
}

import type { ExecutionStatus } from './execution.js';

/**
 * Which run state changes a deployment puts on its event bus (`runEvents` in infra/aws/config.ts):
 * - `all`: every change: queued (each attempt), started (each attempt), skipped, and every end;
 * - `ended`: every end: succeeded, failed, timed out, cancelled;
 * - `failed`: only failed and timed-out runs.
 * Alert events (`Job Failing`, `Job Paused`, `Job Recovered`, `Job Fire Missed`, `Job Run Overdue`) go
 * whatever this says. Each event is a PutEvents entry, billed $1.00 per million (docs/cost.md).
 */
export const RUN_EVENT_SETTINGS = ['all', 'ended', 'failed'] as const;

export type RunEventSetting = (typeof RUN_EVENT_SETTINGS)[number];

/** The statuses each setting puts on the bus. */
const STATUSES: Readonly<Record<RunEventSetting, readonly ExecutionStatus[]>> = {
  all: ['queued', 'running', 'skipped', 'succeeded', 'failed', 'timed_out', 'cancelled'],
  ended: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  failed: ['failed', 'timed_out'],
};

/** Whether a run reaching `status` is put on the bus under `setting`. */
export function runEventWanted(setting: RunEventSetting, status: ExecutionStatus): boolean {
  return STATUSES[setting].includes(status);
}

/**
 * Whether `setting` puts on the bus changes that happen where runs start (queued, skipped: the API, the
 * webhook and dispatch functions) or are claimed (running), not only where they end.
 */
export function runEventsFromStarts(setting: RunEventSetting): boolean {
  return runEventWanted(setting, 'queued');
}

/** The EventBridge `detail-type` of a run in each status (its `type` is `run.<status>`). */
export const RUN_DETAIL_TYPES: Readonly<Record<ExecutionStatus, string>> = {
  queued: 'Job Run Queued',
  running: 'Job Run Started',
  skipped: 'Job Run Skipped',
  succeeded: 'Job Run Succeeded',
  failed: 'Job Run Failed',
  timed_out: 'Job Run Timed Out',
  cancelled: 'Job Run Cancelled',
};

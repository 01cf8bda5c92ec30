import middy from '@middy/core';
import type { AlertService } from '../app/alert-service.js';
import type { NotificationDelivery } from '../app/notification-delivery.js';
import type { RunService, SweepReport } from '../app/run-service.js';
import type { ReconcileReport, ScheduleSync } from '../app/schedule-sync.js';
import type { Logger } from '../ports.js';
import { scopedToInvocation } from './invocation-scope.js';

export interface SweeperDeps {
  runs: RunService;
  schedules: ScheduleSync;
  logger: Logger;
  /** Missed fires and overdue runs, then the notification outbox, after each sweep of runs. */
  alerting?: { alerts: AlertService; delivery: NotificationDelivery };
}

/** The event of the reconciliation rule; any other event (the sweep rule's) sweeps runs. */
export const RECONCILE_TASK = 'reconcile-schedules';

/**
 * The sweeper Lambda. Fired every minute: one idempotent sweep for runs whose message was never sent
 * (see RunService.sweep). Fired by
 * the reconciliation rule (`{"task":"reconcile-schedules"}`): brings every cron job's schedules in line
 * with the jobs table (see ScheduleSync.reconcile).
 */
export function makeSweeperHandler(deps: SweeperDeps) {
  const { runs, schedules } = deps;
  const handler = middy<unknown, SweepReport | ReconcileReport>().handler(async (event) => {
    if (isReconcileEvent(event)) {
      const report = await schedules.reconcile();
      deps.logger.info('schedule reconciliation finished', { ...report });
      return report;
    }
    const report = await runs.sweep();
    if (deps.alerting) await sweepAlerts(deps.alerting, deps.logger);
    // A sweep that found nothing is the common case (every minute on AWS, every few seconds locally).
    const changed = report.requeued > 0;
    (changed ? deps.logger.info : deps.logger.debug).call(deps.logger, 'sweep finished', { ...report });
    return report;
  });
  return scopedToInvocation(deps.logger, handler);
}

function isReconcileEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { task?: unknown }).task === RECONCILE_TASK;
}

/** The alert checks and the outbox, each on its own: a failure of one is logged, and the next sweep retries. */
async function sweepAlerts(
  { alerts, delivery }: NonNullable<SweeperDeps['alerting']>,
  logger: SweeperDeps['logger'],
): Promise<void> {
  try {
    const found = await alerts.sweep();
    if (found.missedFires + found.overdueRuns > 0) logger.info('alert sweep found events', { ...found });
  } catch (error) {
    logger.error('alert sweep failed', { error });
  }
  try {
    const sent = await delivery.drain();
    if (sent.delivered + sent.retrying + sent.dropped > 0) logger.info('notifications sent', { ...sent });
  } catch (error) {
    logger.error('notification delivery failed', { error });
  }
}

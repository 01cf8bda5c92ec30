import { hasAlertPolicy } from '../../domain/alert-policy.js';
import type { Job } from '../../domain/job.js';
import type { WatchedJob } from '../../ports.js';
import type { TransactItem } from './expressions.js';

/** Item keys of alerting, in the jobs table. */
export const alertKeys = {
  /** A job's alert state, in the job's own partition. */
  state: (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'ALERT_STATE' }),
  /** When a run of the job last succeeded (`at`), put apart from the state (see DynamoAlertStore). */
  lastSuccess: (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'LAST_SUCCESS' }),
  /** The jobs the sweeper looks at, one partition per group (see `watchGroup`). */
  watch: (group: WatchGroup, jobId: string) => ({ pk: `ALERT_WATCH#${group}`, sk: jobId }),
  /** Where the one-time backfill of watch items for jobs written before alerting stands. */
  watchBackfill: () => ({ pk: 'MIGRATION#ALERT_WATCH', sk: 'MIGRATION' }),
  /** Every channel, in one partition (ids sort by age). */
  channel: (id: string) => ({ pk: 'CHANNELS', sk: `CHANNEL#${id}` }),
  /** The ids of the default channels, as a string set. */
  defaultChannels: () => ({ pk: 'CHANNEL_DEFAULTS', sk: 'CHANNEL_DEFAULTS' }),
  /** A notification waiting to be sent: sorted by when it is due, then by its place in its decision. */
  outbox: (dueAt: string, sequence: number, eventId: string, channelId: string) => ({
    pk: 'OUTBOX',
    sk: `${dueAt}#${String(sequence).padStart(3, '0')}#${eventId}#${channelId}`,
  }),
} as const;

export const OUTBOX_PARTITION = 'OUTBOX';
export const CHANNEL_PARTITION = 'CHANNELS';

/**
 * `policy`: an enabled job with `config.alerts` that has something for the sweeper to check (a cron
 * schedule, or `max_duration_seconds`); `cron`: an enabled cron job without a policy, looked at only while
 * the deployment has a default channel. Disabled jobs fire nothing and are not watched.
 */
export type WatchGroup = 'policy' | 'cron';

export function watchGroup(job: Job | null): WatchGroup | null {
  if (!job?.enabled) return null;
  const cron = job.trigger_type === 'cron' && job.cron_schedule !== null;
  if (hasAlertPolicy(job.config)) {
    const alerts = job.config.alerts as { max_duration_seconds?: unknown };
    const overdue = typeof alerts.max_duration_seconds === 'number';
    return cron || overdue ? 'policy' : null;
  }
  return cron ? 'cron' : null;
}

function watchedOf(job: Job): WatchedJob {
  return {
    id: job.id,
    name: job.name,
    cron_schedule: job.trigger_type === 'cron' ? job.cron_schedule : null,
    cron_timezone: job.cron_timezone,
    config: hasAlertPolicy(job.config) ? { alerts: job.config.alerts } : {},
    updated_at: job.updated_at,
  };
}

/**
 * The writes that keep a job's watch item in step with the job, for the job's own transaction: put (with
 * what the sweeper needs) while it is watched, deleted when it stops being; a deleted job also loses its
 * alert state.
 */
export function alertWatchChanges(tableName: string, before: Job | null, after: Job | null): TransactItem[] {
  const was = watchGroup(before);
  const is = watchGroup(after);
  const changes: TransactItem[] = [];
  const id = (after ?? before)?.id ?? '';
  if (was !== null && was !== is) {
    changes.push({ Delete: { TableName: tableName, Key: alertKeys.watch(was, id) } });
  }
  if (is !== null && after !== null)
    changes.push({ Put: { TableName: tableName, Item: watchItem(is, after) } });
  if (after === null && before !== null) {
    changes.push({ Delete: { TableName: tableName, Key: alertKeys.state(before.id) } });
    changes.push({ Delete: { TableName: tableName, Key: alertKeys.lastSuccess(before.id) } });
  }
  return changes;
}

/** The watch item of `job` in `group`: its key and what the sweeper needs of the job. */
export function watchItem(group: WatchGroup, job: Job): Record<string, unknown> {
  return { ...alertKeys.watch(group, job.id), doc: JSON.stringify(watchedOf(job)) };
}

export function watchedFromItem(item: Record<string, unknown>): WatchedJob {
  return JSON.parse(String(item.doc)) as WatchedJob;
}

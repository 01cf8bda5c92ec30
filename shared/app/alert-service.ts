import {
  type AlertSettings,
  alertSettings,
  type Decision,
  decideFailure,
  decideMissedFires,
  decideOverdue,
  decideSuccess,
  type EventDraft,
  type JobAlertState,
} from '../domain/alert-policy.js';
import { parseCron } from '../domain/cron.js';
import { nextFireTimes } from '../domain/cron-schedule.js';
import type { Execution } from '../domain/execution.js';
import type { Job } from '../domain/job.js';
import {
  consoleUrlOf,
  DETAIL_TYPES,
  eventId,
  type Notification,
  notificationExecution,
} from '../domain/notification.js';
import { channelWants } from '../domain/notification-channel.js';
import type {
  AlertStore,
  BusEvent,
  ChannelStore,
  Clock,
  EventPublisher,
  ExecutionStore,
  JobStore,
  Logger,
  Metrics,
  OutboxEntry,
  RunOutcomeListener,
  StoredChannel,
  WatchedJob,
} from '../ports.js';
import { AlertWatchBackfill } from './alert-watch-backfill.js';
import type { RunEvents } from './run-events.js';
import { cronExecutionId } from './run-helpers.js';

export interface AlertServiceDeps {
  jobs: JobStore;
  alerts: AlertStore;
  channels: ChannelStore;
  /** The sweeper's checks read runs; run outcomes need none. */
  executions?: ExecutionStore;
  clock: Clock;
  logger: Logger;
  /** Where the console is, for `console_url` (the deployment's public base URL; empty: none). */
  publicBaseUrl?: string;
  /** The deployment's event bus (EventBridge on AWS), for alert events; none locally. */
  events?: EventPublisher;
  /** Puts each run's end on the bus, as the deployment's `runEvents` setting asks; none: no run ends. */
  runEvents?: RunEvents;
  /** Counts `RunFinished` by `Status` (the dashboard's runs by status). */
  metrics?: Metrics;
}

/** Tries of a conditional state write before giving up on a burst of concurrent writers. */
const MAX_COMMIT_ATTEMPTS = 5;
/** Default channels an event goes to at most (a transaction holds at most 100 items). */
const MAX_DEFAULT_CHANNELS = 25;
/** How far behind `now - grace` a sweep looks for missed fires: a few sweeps' worth, so none is skipped. */
export const MISSED_FIRE_LOOKBACK_MS = 10 * 60_000;
/** Fires of one job checked per sweep at most (the latest ones of the window). */
const MAX_FIRES_CHECKED = 20;
/** Runs of a job with `max_duration_seconds` looked at per sweep: its newest. */
const OVERDUE_RUNS_CHECKED = 10;

/** What a sweep of the watched jobs found. */
export interface AlertSweepReport {
  jobs: number;
  missedFires: number;
  overdueRuns: number;
}

/** A job's alert counters as `GET /jobs/{id}` shows them. */
export interface JobAlertView {
  consecutive_failures: number;
  last_failure_at: string | null;
  last_success_at: string | null;
}

/**
 * Turns what happens to runs into alert events: counts failures in a row per job, decides `run.failed`,
 * `job.failing`, `job.paused` (and pauses the job) and `job.recovered` from each run's end, and
 * `fire.missed` and `run.overdue` from a sweep of the watched jobs. An event is decided in the same
 * conditional write that changes the job's alert state and puts one outbox entry per channel, so a
 * result seen twice or two sweeps decide it once; `NotificationDelivery` sends the outbox.
 */
export class AlertService implements RunOutcomeListener {
  private readonly watchBackfill: AlertWatchBackfill;

  constructor(private readonly deps: AlertServiceDeps) {
    this.watchBackfill = new AlertWatchBackfill(deps);
  }

  /**
   * A run ended. A success with no failure counted costs one conditional write; a failure reads the
   * state and the job and writes the state with the events' outbox entries in one transaction.
   */
  async runEnded(execution: Execution): Promise<void> {
    this.deps.metrics?.count('RunFinished', { Status: execution.status });
    await this.deps.runEvents?.changed(execution);
    if (execution.status === 'succeeded') await this.succeeded(execution);
    else if (execution.status === 'failed' || execution.status === 'timed_out') await this.failed(execution);
  }

  /** The counters of a job (its state item, one read). */
  async jobView(jobId: string): Promise<JobAlertView> {
    const { state } = await this.deps.alerts.getState(jobId);
    return {
      consecutive_failures: state.consecutiveFailures,
      last_failure_at: state.lastFailureAt,
      last_success_at: state.lastSuccessAt,
    };
  }

  private async succeeded(execution: Execution): Promise<void> {
    const at = execution.finished_at ?? this.deps.clock.now().toISOString();
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      const counted = await this.deps.alerts.recordSuccess(execution.job_id, at);
      if (!counted) return;
      const now = this.deps.clock.now();
      const decision = decideSuccess(counted.state, execution, now);
      const job = decision.events.length > 0 ? await this.deps.jobs.get(execution.job_id) : null;
      const entries = job ? await this.address(job.job, decision, now) : [];
      const written = await this.deps.alerts.commit(
        execution.job_id,
        { state: decision.state, version: counted.version },
        entries,
      );
      if (written) {
        await this.published(decision.events, execution, decision.state, now);
        return;
      }
    }
    this.gaveUp(execution);
  }

  private async failed(execution: Execution): Promise<void> {
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      const [current, stored] = await Promise.all([
        this.deps.alerts.getState(execution.job_id),
        this.deps.jobs.get(execution.job_id),
      ]);
      if (!stored) return; // The job is gone, and its alert state with it.
      const now = this.deps.clock.now();
      const settings = alertSettings(stored.job.config);
      const decision = decideFailure(current.state, settings, execution, stored.job.enabled, now);
      if (!decision) {
        // Counted already. If that end's pause was decided but not written (its process stopped), finish it.
        await this.finishPause(current.state, stored.job, execution);
        return;
      }
      const entries = await this.address(stored.job, decision, now, settings);
      const written = await this.deps.alerts.commit(
        execution.job_id,
        { state: decision.state, version: current.version },
        entries,
      );
      if (!written) continue;
      if (decision.pause) await this.pause(execution.job_id, decision.state.pausedAt as string);
      await this.published(decision.events, execution, decision.state, now);
      return;
    }
    this.gaveUp(execution);
  }

  private async finishPause(state: JobAlertState, job: Job, execution: Execution): Promise<void> {
    if (state.pausedBy !== execution.execution_id || state.pausedAt === null) return;
    if (job.enabled && job.updated_at <= state.pausedAt) await this.pause(job.id, state.pausedAt);
  }

  /**
   * Disables the job with `disabled_reason: "consecutive_failures"`, unless it was changed since the pause
   * was decided (a user who enabled it again wins). Its cron schedule stays as it is until the next
   * schedule reconciliation: dispatch starts no run of a disabled job meanwhile.
   */
  private async pause(jobId: string, decidedAt: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      const stored = await this.deps.jobs.get(jobId);
      if (!stored?.job.enabled || stored.job.updated_at > decidedAt) return;
      const paused: Job = {
        ...stored.job,
        enabled: false,
        disabled_reason: 'consecutive_failures',
        updated_at: decidedAt,
      };
      if (await this.deps.jobs.replace(paused, stored.version, stored.job)) {
        this.deps.logger.warn('job paused after consecutive failures', { jobId });
        return;
      }
    }
    throw new Error(`Job ${jobId} kept changing while it was being paused`);
  }

  private gaveUp(execution: Execution): void {
    this.deps.logger.error('alert state kept changing; this run is not counted', {
      jobId: execution.job_id,
      executionId: execution.execution_id,
    });
  }

  /**
   * One sweep of the watched jobs: the enabled jobs with an alert policy, and, while the deployment has a
   * default channel, every enabled cron job. Until every cron job written before alerting has its watch item,
   * each sweep first writes some (see {@link AlertWatchBackfill}). Reads per job: the runs of the cron fires of the last few
   * minutes whose grace has passed (one read each), and for `max_duration_seconds` its newest runs;
   * its state only when something was found.
   */
  async sweep(): Promise<AlertSweepReport> {
    const report: AlertSweepReport = { jobs: 0, missedFires: 0, overdueRuns: 0 };
    try {
      await this.watchBackfill.pass();
    } catch (error) {
      // The jobs already watched are checked regardless; the next sweep resumes the backfill.
      this.deps.logger.error('watch items for cron jobs written before alerting not all written yet', {
        error,
      });
    }
    const defaults = await this.deps.channels.defaultIds();
    const watched = [
      ...(await this.deps.alerts.watchedJobs('policy')),
      ...(defaults.length > 0 ? await this.deps.alerts.watchedJobs('cron') : []),
    ];
    for (const job of watched) {
      report.jobs++;
      try {
        const found = await this.sweepJob(job);
        report.missedFires += found.missedFires;
        report.overdueRuns += found.overdueRuns;
      } catch (error) {
        this.deps.logger.error('alert sweep of a job failed; the next sweep tries again', {
          jobId: job.id,
          error,
        });
      }
    }
    return report;
  }

  private async sweepJob(job: WatchedJob): Promise<{ missedFires: number; overdueRuns: number }> {
    const now = this.deps.clock.now();
    const settings = alertSettings(job.config);
    const [missed, running] = await Promise.all([
      job.cron_schedule === null ? [] : this.missedFires(job, settings, now),
      settings.maxDurationSeconds === null ? [] : this.runningRuns(job.id),
    ]);
    const overdueCandidates = running.filter(
      (run) =>
        run.started_at !== null &&
        now.getTime() - Date.parse(run.started_at) >= (settings.maxDurationSeconds ?? 0) * 1000,
    );
    if (missed.length === 0 && overdueCandidates.length === 0) return { missedFires: 0, overdueRuns: 0 };
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      const current = await this.deps.alerts.getState(job.id);
      let state = current.state;
      const events: EventDraft[] = [];
      const apply = (decision: Decision | null) => {
        if (!decision) return;
        state = decision.state;
        events.push(...decision.events);
      };
      apply(decideMissedFires(state, settings, job, missed, now));
      for (const run of overdueCandidates) apply(decideOverdue(state, settings, run, now));
      if (state === current.state) return { missedFires: 0, overdueRuns: 0 };
      const decision: Decision = { state, events, pause: false };
      const stored = events.length > 0 ? await this.deps.jobs.get(job.id) : null;
      const entries = stored ? await this.address(stored.job, decision, now, settings) : [];
      if (await this.deps.alerts.commit(job.id, { state, version: current.version }, entries)) {
        await this.published(events, null, state, now, job);
        return {
          missedFires: events.some((event) => event.type === 'fire.missed') ? missed.length : 0,
          overdueRuns: events.filter((event) => event.type === 'run.overdue').length,
        };
      }
    }
    return { missedFires: 0, overdueRuns: 0 };
  }

  /**
   * The job's fires in the look-back window whose grace has passed and that started no run in time:
   * no run at the fire's id (see `cronExecutionId`), or one that started (or is still waiting) later
   * than the grace allows. Fires before the job's last change are not expected of it.
   */
  private async missedFires(job: WatchedJob, settings: AlertSettings, now: Date): Promise<string[]> {
    const executions = this.requireExecutions();
    const graceMs = settings.missedFireGraceSeconds * 1000;
    const to = now.getTime() - graceMs;
    const from = Math.max(to - MISSED_FIRE_LOOKBACK_MS, Date.parse(job.updated_at));
    if (from >= to) return [];
    const { fires } = nextFireTimes(
      parseCron(job.cron_schedule as string),
      job.cron_timezone,
      new Date(from),
      200,
      2,
    );
    const due = fires
      .map((fire) => fire.at)
      .filter((at) => at.getTime() <= to)
      .slice(-MAX_FIRES_CHECKED);
    const missed: string[] = [];
    for (const at of due) {
      const scheduledAt = at.toISOString();
      const stored = await executions.get(job.id, cronExecutionId(job.id, scheduledAt));
      const run = stored?.execution;
      const startedInTime =
        run !== undefined &&
        (run.status === 'skipped' ||
          run.status === 'cancelled' ||
          (run.started_at !== null && Date.parse(run.started_at) - at.getTime() <= graceMs));
      if (!startedInTime) missed.push(scheduledAt);
    }
    return missed;
  }

  private async runningRuns(jobId: string): Promise<Execution[]> {
    const page = await this.requireExecutions().list(jobId, { limit: OVERDUE_RUNS_CHECKED, offset: 0 });
    return page.executions.filter((run) => run.status === 'running');
  }

  private requireExecutions(): ExecutionStore {
    if (!this.deps.executions) throw new Error('The alert sweep needs the execution store.');
    return this.deps.executions;
  }

  /** The events as notifications, one outbox entry per channel that wants each (the job's, or the defaults). */
  private async address(
    job: Job,
    decision: Decision,
    now: Date,
    settings: AlertSettings = alertSettings(job.config),
  ): Promise<OutboxEntry[]> {
    if (decision.events.length === 0) return [];
    const ids = settings.channels ?? (await this.deps.channels.defaultIds()).slice(0, MAX_DEFAULT_CHANNELS);
    const channels = (await Promise.all(ids.map((id) => this.deps.channels.get(id)))).filter(
      (stored): stored is StoredChannel => {
        return stored !== null;
      },
    );
    const entries: OutboxEntry[] = [];
    for (const [index, draft] of decision.events.entries()) {
      const notification = this.notification(draft, job, decision.state, now);

      for (const { channel } of channels) {
        if (!channelWants(channel, draft.type)) continue;
        entries.push({
          channelId: channel.id,
          notification,
          dueAt: notification.occurred_at,
          sequence: index,
          attempt: 0,
          lastError: null,
        });
      }
    }
    return entries;
  }

  private notification(
    draft: EventDraft,
    job: Pick<Job, 'id' | 'name'>,
    state: JobAlertState,
    now: Date,
  ): Notification {
    return {
      type: draft.type,
      id: eventId(draft.key),
      occurred_at: now.toISOString(),
      job: { id: job.id, name: job.name },
      execution: draft.execution ? notificationExecution(draft.execution) : null,
      consecutive_failures: state.consecutiveFailures,
      message: draft.message,
      console_url: this.consoleUrl(job.id, draft.execution?.execution_id),
    };
  }

  private consoleUrl(jobId: string, executionId?: string): string | null {
    return consoleUrlOf(this.deps.publicBaseUrl, jobId, executionId);
  }

  /** The alert events just decided, on the bus (`run.failed` is already there as the run's own end). */
  private async published(
    events: readonly EventDraft[],
    execution: Execution | null,
    state: JobAlertState,
    now: Date,
    job?: Pick<Job, 'id' | 'name'>,
  ): Promise<void> {
    const owner = job ?? (execution ? { id: execution.job_id, name: execution.job_name } : null);
    if (!owner) return;
    const bus: BusEvent[] = [];
    for (const draft of events) {
      if (draft.type === 'run.failed' || draft.type === 'test') continue;
      bus.push({
        detailType: DETAIL_TYPES[draft.type],
        time: now,
        detail: { ...this.notification(draft, owner, state, now) },
      });
    }
    await this.publish(bus);
  }

  /** Best effort: the bus is a copy for the account's own rules; the alerts are recorded already. */
  private async publish(events: readonly BusEvent[]): Promise<void> {
    if (!this.deps.events || events.length === 0) return;
    try {
      await this.deps.events.publish(events);
    } catch (error) {
      this.deps.logger.error('events not put on the event bus', { count: events.length, error });
    }
  }
}

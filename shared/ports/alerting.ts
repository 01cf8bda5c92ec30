import type { JobAlertState } from '../domain/alert-policy.js';
import type { Execution } from '../domain/execution.js';
import type { Job } from '../domain/job.js';
import type { Notification } from '../domain/notification.js';
import type { Channel } from '../domain/notification-channel.js';

/**
 * Alerting's ports: its per-job state and outbox, notification channels, how notifications are sent, and
 * the deployment's event bus.
 */
/** Told of every run that reached a terminal status: at least once, again when a duplicate message finds it ended. */
export interface RunOutcomeListener {
  runEnded(execution: Execution): Promise<void>;
}

export interface StoredChannel {
  channel: Channel;
  version: number;
  /** The signing secret sealed by `SecretBox` (webhook channels only). */
  sealedSecret: string | null;
}

export interface ChannelPage {
  channels: Channel[];
  nextCursor: string | null;
}

/** How one try of a notification went, as the channel's counters record it. */
export interface DeliveryRecord {
  at: string;
  ok: boolean;
  error: string | null;
}

/** Notification channels, the set of default ones, and each one's delivery counters. */
export interface ChannelStore {
  /** False if the id exists. */
  create(channel: Channel, sealedSecret: string | null): Promise<boolean>;
  get(id: string): Promise<StoredChannel | null>;
  list(options: { limit: number; cursor?: string }): Promise<ChannelPage>;
  /** Conditional on `expectedVersion`, keeping the default set in step; null on conflict or absence. */
  replace(
    channel: Channel,
    sealedSecret: string | null,
    expectedVersion: number,
  ): Promise<StoredChannel | null>;
  /** False when absent. */
  delete(id: string): Promise<boolean>;
  /** The ids of the default channels (one read). */
  defaultIds(): Promise<string[]>;
  /** Updates `last_delivery_*` and `consecutive_delivery_failures`; a deleted channel is left deleted. */
  recordDelivery(id: string, record: DeliveryRecord): Promise<void>;
}

/** A job's alert state and the version its next conditional write must match (0: none stored yet). */
export interface VersionedAlertState {
  state: JobAlertState;
  version: number;
}

/** One notification for one channel, waiting in the outbox until it is delivered or given up. */
export interface OutboxEntry {
  channelId: string;
  notification: Notification;
  /** When to try next, ISO 8601. */
  dueAt: string;
  /** The event's place among those decided together: entries due at once are sent in this order. */
  sequence: number;
  /** Tries made so far. */
  attempt: number;
  lastError: string | null;
}

/** A job the sweeper watches: its cron schedule (missed fires) and its policy (overdue runs). */
export interface WatchedJob {
  id: string;
  name: string;
  cron_schedule: string | null;
  cron_timezone: string;
  config: Record<string, unknown>;
  /** Fires before the job's last change are not expected of it. */
  updated_at: string;
}

/**
 * Per-job alert state (one small item per job), the outbox of notifications, and the jobs the sweeper
 * watches (kept by the job store, in each job write's transaction).
 */
export interface AlertStore {
  /**
   * A success of a job with no failure counted: null, with `last_success_at` brought up to `at` when it is
   * a minute behind or more (two small items read together, and at most one write a minute). A job with
   * failures counted: nothing written, its state returned for a full decision.
   */
  recordSuccess(jobId: string, at: string): Promise<VersionedAlertState | null>;
  getState(jobId: string): Promise<VersionedAlertState>;
  /**
   * Writes the state if its version is still `expectedVersion`, with the notifications, all or nothing;
   * false when another writer got there first.
   */
  commit(jobId: string, state: VersionedAlertState, notifications: readonly OutboxEntry[]): Promise<boolean>;
  /** Jobs with an alert policy the sweeper must look at (`policy`), or cron jobs without one (`cron`). */
  watchedJobs(group: 'policy' | 'cron'): Promise<WatchedJob[]>;
  /**
   * Where the one-time backfill of watch items for jobs written before alerting stands: done, or the cursor of
   * the cron job list (`JobStore.list`) to resume from (null: from the start).
   */
  watchBackfill(): Promise<{ done: boolean; cursor: string | null }>;
  saveWatchBackfill(progress: { done: boolean; cursor: string | null }): Promise<void>;
  /**
   * Puts the watch item `job` should have, if it has none and the job is still at `version` (a job written
   * since has had its item written with it); true when written, false when nothing was to be done.
   */
  watchIfUnwatched(job: Job, version: number): Promise<boolean>;
  /** Outbox entries due by `now`, oldest first, at most `limit`. */
  due(now: Date, limit: number): Promise<OutboxEntry[]>;
  /** Takes an entry for one sender until `until`; false if another sender holds it. */
  claim(entry: OutboxEntry, now: Date, until: Date): Promise<boolean>;
  /** Moves an entry to its next try. */
  reschedule(entry: OutboxEntry, next: { dueAt: string; attempt: number; lastError: string }): Promise<void>;
  /** Removes a delivered (or abandoned) entry. */
  remove(entry: OutboxEntry): Promise<void>;
}

/** What became of one try of a notification. */
export type DeliveryOutcome =
  | { ok: true }
  /** `retryable`: 5xx, 429, a timeout or no answer; anything else is final. */
  | { ok: false; retryable: boolean; error: string };

/** Sends one notification to one channel (signed POST, or SNS Publish on AWS). Never throws for the channel's failures. */
export interface ChannelNotifier {
  send(
    channel: Channel,
    message: { id: string; body: string; subject: string },
    signingSecret: string | null,
  ): Promise<DeliveryOutcome>;
}

/** One event for the deployment's event bus (EventBridge on AWS). */
export interface BusEvent {
  detailType: string;
  detail: Record<string, unknown>;
  time: Date;
}

/** Puts events on the deployment's event bus (EventBridge on AWS; none locally). */
export interface EventPublisher {
  publish(events: readonly BusEvent[]): Promise<void>;
}

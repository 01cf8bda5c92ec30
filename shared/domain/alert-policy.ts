import * as z from 'zod/mini';
import type { ErrorDetail } from './errors.js';
import type { Execution } from './execution.js';
import type { AlertEventType } from './notification.js';
import { issuesToDetails } from './validation.js';

/** `nch_`, the creation time in base 36 (so ids sort by age) and 64 random bits in hex. */
export const CHANNEL_ID_PATTERN = /^nch_[0-9a-z]{9}[0-9a-f]{16}$/;
/** Longest `max_duration_seconds`: a run's longest timeout (run-config's MAX_TIMEOUT_SECONDS, a week). */
const MAX_DURATION_SECONDS = 7 * 24 * 3600;
/** Channels one job may name. */
export const MAX_JOB_CHANNELS = 10;

const count = (what: string, max: number) =>
  z
    .number()
    .check(
      z.int(`must be a whole number${what}`),
      z.minimum(1, `must be at least 1`),
      z.maximum(max, `must be at most ${max}`),
    );

/** A job's `config.alerts`: who hears of its failures and missed fires, and when it is paused. */
export const AlertPolicySchema = z
  .strictObject({
    channels: z
      .optional(
        z
          .array(z.string().check(z.regex(CHANNEL_ID_PATTERN, 'must be a notification channel id (nch_…)')))
          .check(
            z.maxLength(MAX_JOB_CHANNELS, `must name at most ${MAX_JOB_CHANNELS} channels`),
            z.refine((ids) => new Set(ids).size === ids.length, 'must not name a channel twice'),
          ),
      )
      .register(z.globalRegistry, {
        description: 'The channels that hear of this job; omitted: the default channels.',
      }),
    failure_threshold: z.optional(count('', 1000)).register(z.globalRegistry, {
      description: '`job.failing` after this many failed runs in a row. Default 1.',
    }),
    pause_after_failures: z.optional(z.nullable(count('', 1000))).register(z.globalRegistry, {
      description:
        'Disable the job after this many failed runs in a row (`job.paused`); null never. Default null.',
    }),
    missed_fire_grace_seconds: z
      .optional(
        z
          .number()
          .check(
            z.int('must be a whole number of seconds'),
            z.minimum(0, 'must not be negative'),
            z.maximum(86_400, 'must be at most 86400'),
          ),
      )
      .register(z.globalRegistry, {
        description: 'Cron jobs: how late a fire may start its run before `fire.missed`. Default 300.',
      }),
    max_duration_seconds: z
      .optional(z.nullable(count(' of seconds', MAX_DURATION_SECONDS)))
      .register(z.globalRegistry, {
        description:
          '`run.overdue` once a run has been running this long (a warning: `timeout` still ends it). Default null.',
      }),
    realert_after_seconds: z
      .optional(
        z
          .number()
          .check(
            z.int('must be a whole number of seconds'),
            z.minimum(60, 'must be at least 60'),
            z.maximum(30 * 86_400, 'must be at most 2592000 (30 days)'),
          ),
      )
      .register(z.globalRegistry, {
        description:
          'While the job keeps failing (or missing fires), `job.failing` (`fire.missed`) again at most this often. Default 3600.',
      }),
  })
  .register(z.globalRegistry, {
    id: 'AlertPolicy',
    description: "A job's `config.alerts`. Every field is optional; a job without it uses the defaults.",
  });
export type AlertPolicy = z.infer<typeof AlertPolicySchema>;

/** A job's alert policy with its defaults applied. */
export interface AlertSettings {
  /** The channels named by the job; null: the deployment's default channels. */
  channels: readonly string[] | null;
  failureThreshold: number;
  pauseAfterFailures: number | null;
  missedFireGraceSeconds: number;
  maxDurationSeconds: number | null;
  realertAfterSeconds: number;
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  channels: null,
  failureThreshold: 1,
  pauseAfterFailures: null,
  missedFireGraceSeconds: 300,
  maxDurationSeconds: null,
  realertAfterSeconds: 3600,
};

/** Problems with `config.alerts`, with paths under `prefix` (`config.alerts`); none when it is absent. */
export function alertPolicyViolations(value: unknown, prefix: string): ErrorDetail[] {
  if (value === undefined) return [];
  const result = AlertPolicySchema.safeParse(value, { reportInput: true });
  if (result.success) return [];
  return issuesToDetails(result.error.issues).map((detail) => ({
    ...detail,
    path: detail.path ? `${prefix}.${detail.path}` : prefix,
  }));
}

/** Whether a job's config carries an alert policy (a job without one still alerts its default channels). */
export function hasAlertPolicy(config: Record<string, unknown>): boolean {
  return config.alerts !== undefined && config.alerts !== null;
}

/** The settings of an already validated config; an invalid policy (stored before a rule) counts as none. */
export function alertSettings(config: Record<string, unknown>): AlertSettings {
  const parsed = AlertPolicySchema.safeParse(config.alerts ?? {});
  if (!parsed.success) return DEFAULT_ALERT_SETTINGS;
  const policy = parsed.data;
  return {
    channels: policy.channels ?? null,
    failureThreshold: policy.failure_threshold ?? DEFAULT_ALERT_SETTINGS.failureThreshold,
    pauseAfterFailures: policy.pause_after_failures ?? null,
    missedFireGraceSeconds: policy.missed_fire_grace_seconds ?? DEFAULT_ALERT_SETTINGS.missedFireGraceSeconds,
    maxDurationSeconds: policy.max_duration_seconds ?? null,
    realertAfterSeconds: policy.realert_after_seconds ?? DEFAULT_ALERT_SETTINGS.realertAfterSeconds,
  };
}

/** Run ids a job's state remembers, so that a result or a sweep seen twice is counted once. */
const REMEMBERED_RUNS = 10;

/** What alerting keeps per job, between runs: one small item. */
export interface JobAlertState {
  consecutiveFailures: number;
  lastFailureAt: string | null;
  lastSuccessAt: string | null;
  /** When `job.failing` was last decided; set while the job is failing, cleared by a success. */
  failingAlertedAt: string | null;
  /** The failed runs counted lately (newest last): a result delivered again is not counted again. */
  recentFailures: string[];
  /** The run whose failure paused the job, and when. */
  pausedBy: string | null;
  pausedAt: string | null;
  /** When `fire.missed` was last decided, and the latest fire it reported. */
  missedAlertedAt: string | null;
  missedThrough: string | null;
  /** Runs already reported overdue (newest last). */
  overdueReported: string[];
}

export const EMPTY_ALERT_STATE: JobAlertState = {
  consecutiveFailures: 0,
  lastFailureAt: null,
  lastSuccessAt: null,
  failingAlertedAt: null,
  recentFailures: [],
  pausedBy: null,
  pausedAt: null,
  missedAlertedAt: null,
  missedThrough: null,
  overdueReported: [],
};

/** An event decided, before it is addressed to channels: `key` makes its id (see `eventId`). */
export interface EventDraft {
  type: AlertEventType;
  key: string;
  message: string;
  execution: Execution | null;
}

export interface Decision {
  state: JobAlertState;
  events: EventDraft[];
  /** Disable the job (`disabled_reason: "consecutive_failures"`). */
  pause: boolean;
}

const remember = (ids: readonly string[], id: string) => [...ids, id].slice(-REMEMBERED_RUNS);

const secondsBetween = (earlier: string, later: Date) => (later.getTime() - Date.parse(earlier)) / 1000;

/**
 * A run that failed or timed out on its last attempt: count it (unless it was counted already: null),
 * and decide `run.failed`, `job.failing` (at the threshold, then again after `realert_after_seconds`) and
 * `job.paused` (at `pause_after_failures`, if the job is still enabled). A failure that ended before the
 * last success recorded (its result was handled late) is not in the row of failures since: it decides
 * `run.failed` alone.
 */
export function decideFailure(
  state: JobAlertState,
  settings: AlertSettings,
  execution: Execution,
  jobEnabled: boolean,
  now: Date,
): Decision | null {
  if (state.recentFailures.includes(execution.execution_id)) return null;
  const at = execution.finished_at ?? now.toISOString();
  const beforeLastSuccess = state.lastSuccessAt !== null && state.lastSuccessAt > at;
  const failures = beforeLastSuccess ? state.consecutiveFailures : state.consecutiveFailures + 1;
  const next: JobAlertState = {
    ...state,
    consecutiveFailures: failures,
    lastFailureAt: state.lastFailureAt !== null && state.lastFailureAt > at ? state.lastFailureAt : at,
    recentFailures: remember(state.recentFailures, execution.execution_id),
  };
  const id = execution.execution_id;
  const reason = execution.error_message ? `: ${execution.error_message}` : '.';
  const outcome = execution.status === 'timed_out' ? 'timed out' : 'failed';
  const events: EventDraft[] = [
    {
      type: 'run.failed',
      key: `${id}:run.failed`,
      message: `Run ${id} of "${execution.job_name}" ${outcome} after ${execution.attempt} attempt${execution.attempt === 1 ? '' : 's'}${reason}`,
      execution,
    },
  ];
  if (beforeLastSuccess) return { state: next, events, pause: false };
  const alerted = state.failingAlertedAt;
  if (
    failures >= settings.failureThreshold &&
    (alerted === null || secondsBetween(alerted, now) >= settings.realertAfterSeconds)
  ) {
    next.failingAlertedAt = now.toISOString();
    events.push({
      type: 'job.failing',
      key: `${id}:job.failing`,
      message: `"${execution.job_name}" has failed ${failures} run${failures === 1 ? '' : 's'} in a row.`,
      execution,
    });
  }
  const pause = jobEnabled && settings.pauseAfterFailures !== null && failures >= settings.pauseAfterFailures;
  if (pause) {
    next.pausedBy = id;
    next.pausedAt = now.toISOString();
    events.push({
      type: 'job.paused',
      key: `${id}:job.paused`,
      message: `"${execution.job_name}" was disabled after ${failures} failed runs in a row; enable it to resume.`,
      execution,
    });
  }
  return { state: next, events, pause };
}

/**
 * A run that succeeded after failures: the count starts again, and `job.recovered` is decided if
 * `job.failing` had been.
 */
export function decideSuccess(state: JobAlertState, execution: Execution, now: Date): Decision {
  const at = execution.finished_at ?? now.toISOString();
  const next: JobAlertState = {
    ...state,
    consecutiveFailures: 0,
    failingAlertedAt: null,
    lastSuccessAt: state.lastSuccessAt !== null && state.lastSuccessAt > at ? state.lastSuccessAt : at,
  };
  const events: EventDraft[] =
    state.failingAlertedAt === null
      ? []
      : [
          {
            type: 'job.recovered',
            key: `${execution.execution_id}:job.recovered`,
            message: `"${execution.job_name}" succeeded again after ${state.consecutiveFailures} failed run${state.consecutiveFailures === 1 ? '' : 's'}.`,
            execution,
          },
        ];
  return { state: next, events, pause: false };
}

/**
 * Missed fires found by a sweep (`missed`: their scheduled times, oldest first): decided as one `fire.missed`
 * unless every one was reported already, or one was reported less than `realert_after_seconds` ago (the
 * fires are then only recorded as seen).
 */
export function decideMissedFires(
  state: JobAlertState,
  settings: AlertSettings,
  job: { id: string; name: string },
  missed: readonly string[],
  now: Date,
): Decision | null {
  const fresh = missed.filter((at) => state.missedThrough === null || at > state.missedThrough);
  const latest = fresh.at(-1);
  if (latest === undefined) return null;
  const next: JobAlertState = { ...state, missedThrough: latest };
  const quiet =
    state.missedAlertedAt !== null &&
    secondsBetween(state.missedAlertedAt, now) < settings.realertAfterSeconds;
  if (quiet) return { state: next, events: [], pause: false };
  next.missedAlertedAt = now.toISOString();
  const first = fresh[0] as string;
  const message =
    fresh.length === 1
      ? `"${job.name}" did not start its run scheduled for ${first} within ${settings.missedFireGraceSeconds} s.`
      : `"${job.name}" did not start ${fresh.length} scheduled runs, from ${first} to ${latest}.`;
  return {
    state: next,
    events: [{ type: 'fire.missed', key: `${job.id}:fire.missed:${first}`, message, execution: null }],
    pause: false,
  };
}

/** A run found running past `max_duration_seconds`: `run.overdue` once per run. */
export function decideOverdue(
  state: JobAlertState,
  settings: AlertSettings,
  execution: Execution,
  now: Date,
): Decision | null {
  if (settings.maxDurationSeconds === null || execution.status !== 'running' || !execution.started_at) {
    return null;
  }
  if (state.overdueReported.includes(execution.execution_id)) return null;
  const runningSeconds = secondsBetween(execution.started_at, now);
  if (runningSeconds < settings.maxDurationSeconds) return null;
  return {
    state: { ...state, overdueReported: remember(state.overdueReported, execution.execution_id) },
    events: [
      {
        type: 'run.overdue',
        key: `${execution.execution_id}:run.overdue`,
        message: `Run ${execution.execution_id} of "${execution.job_name}" has been running for ${Math.floor(runningSeconds)} s, longer than its ${settings.maxDurationSeconds} s.`,
        execution,
      },
    ],
    pause: false,
  };
}

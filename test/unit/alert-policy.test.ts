import { describe, expect, it } from 'vitest';
import {
  alertSettings,
  DEFAULT_ALERT_SETTINGS,
  decideFailure,
  decideMissedFires,
  decideOverdue,
  decideSuccess,
  EMPTY_ALERT_STATE,
  type JobAlertState,
} from '../../shared/domain/alert-policy.js';
import { ValidationError } from '../../shared/domain/errors.js';
import type { Execution } from '../../shared/domain/execution.js';
import { buildJobSpec } from '../../shared/domain/job.js';

const CHANNEL = 'nch_0m5xy3k0w0123456789abcdef';

function run(id: string, overrides: Partial<Execution> = {}): Execution {
  return {
    execution_id: id,
    workflow_id: `wf_${id}`,
    job_id: 'job_1',
    job_name: 'Report',
    status: 'failed',
    trigger_type: 'manual',
    parameters: {},
    prompt: 'p',
    system_prompt: null,
    config: {},
    entity_id: 'e',
    entity_type: 'agent',
    queue: 'default',
    environment_name: null,
    metadata: {},
    dedupe_key: null,
    scheduled_at: null,
    lateness_ms: null,
    attempt: 1,
    max_attempts: 1,
    created_at: '2027-01-01T00:00:00.000Z',
    started_at: '2027-01-01T00:00:01.000Z',
    finished_at: '2027-01-01T00:00:02.000Z',
    duration_ms: 1000,
    deadline_at: null,
    error_message: 'HTTP 400',
    output: null,
    output_truncated: false,
    ...overrides,
  };
}

function alertProblems(alerts: unknown): string[] {
  try {
    buildJobSpec({ name: 'j', trigger_type: 'manual', prompt_template: 'p', config: { alerts } });
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.details.map((detail) => detail.path);
  }
}

const at = (seconds: number) => new Date(Date.parse('2027-01-01T00:00:00.000Z') + seconds * 1000);

describe('config.alerts is validated with the field named', () => {
  it.each([
    [{ failure_threshold: 0 }, 'config.alerts.failure_threshold'],
    [{ failure_threshold: 1.5 }, 'config.alerts.failure_threshold'],
    [{ pause_after_failures: -1 }, 'config.alerts.pause_after_failures'],
    [{ missed_fire_grace_seconds: 90_000 }, 'config.alerts.missed_fire_grace_seconds'],
    [{ max_duration_seconds: 0 }, 'config.alerts.max_duration_seconds'],
    [{ realert_after_seconds: 10 }, 'config.alerts.realert_after_seconds'],
    [{ channels: ['slack'] }, 'config.alerts.channels[0]'],
    [{ channels: [CHANNEL, CHANNEL] }, 'config.alerts.channels'],
    [{ channel: [CHANNEL] }, 'config.alerts.channel'],
    ['all', 'config.alerts'],
  ])('%j → %s', (alerts, path) => {
    // Act
    const problems = alertProblems(alerts);

    // Assess
    expect(problems).toEqual([path]);
  });

  it('accepts a full policy and applies the defaults to an empty one', () => {
    // Prepare
    const policy = {
      channels: [CHANNEL],
      failure_threshold: 3,
      pause_after_failures: null,
      missed_fire_grace_seconds: 60,
      max_duration_seconds: 600,
      realert_after_seconds: 7200,
    };

    // Act
    const problems = alertProblems(policy);
    const settings = alertSettings({ alerts: policy });

    // Assess
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      channels: [CHANNEL],
      failureThreshold: 3,
      pauseAfterFailures: null,
      missedFireGraceSeconds: 60,
      maxDurationSeconds: 600,
      realertAfterSeconds: 7200,
    });
    expect(alertSettings({})).toEqual(DEFAULT_ALERT_SETTINGS);
  });
});

describe('decisions from run ends', () => {
  const settings = {
    ...DEFAULT_ALERT_SETTINGS,
    failureThreshold: 2,
    pauseAfterFailures: 3,
    realertAfterSeconds: 600,
  };

  it('counts failures, alerts at the threshold, re-alerts after the interval, and pauses', () => {
    // Act
    const first = decideFailure(EMPTY_ALERT_STATE, settings, run('a'), true, at(0));
    const second = decideFailure(first?.state as JobAlertState, settings, run('b'), true, at(10));
    const duplicate = decideFailure(second?.state as JobAlertState, settings, run('b'), true, at(20));
    const third = decideFailure(second?.state as JobAlertState, settings, run('c'), true, at(30));
    const disabled = decideFailure(second?.state as JobAlertState, settings, run('c'), false, at(30));
    const later = decideFailure(third?.state as JobAlertState, settings, run('d'), false, at(700));

    // Assess
    const types = (decision: typeof first) => decision?.events.map((event) => event.type);
    expect(types(first)).toEqual(['run.failed']);
    expect(types(second)).toEqual(['run.failed', 'job.failing']);
    expect(duplicate).toBeNull();
    expect(types(third)).toEqual(['run.failed', 'job.paused']);
    expect(third?.pause).toBe(true);
    expect(third?.state).toMatchObject({ consecutiveFailures: 3, pausedBy: 'c' });
    expect(disabled?.pause).toBe(false);
    expect(types(later)).toEqual(['run.failed', 'job.failing']);
    expect(second?.events[1]?.key).toBe('b:job.failing');
  });

  it('reports a recovery only after job.failing, and starts the count again', () => {
    // Prepare
    const failing = decideFailure(EMPTY_ALERT_STATE, DEFAULT_ALERT_SETTINGS, run('a'), true, at(0))
      ?.state as JobAlertState;
    const unalerted: JobAlertState = { ...failing, failingAlertedAt: null };

    // Act
    const recovered = decideSuccess(failing, run('b', { status: 'succeeded' }), at(5));
    const quiet = decideSuccess(unalerted, run('b', { status: 'succeeded' }), at(5));

    // Assess
    expect(recovered.events.map((event) => event.type)).toEqual(['job.recovered']);
    expect(recovered.state).toMatchObject({
      consecutiveFailures: 0,
      failingAlertedAt: null,
      lastSuccessAt: '2027-01-01T00:00:02.000Z',
    });
    expect(quiet.events).toEqual([]);
  });

  it('does not count in a row a failure that ended before the last success recorded', () => {
    // Prepare: a success that ended at 00:00:10 is recorded; a failure that ended at 00:00:05 is handled
    // only after it (its worker was slower).
    const state: JobAlertState = { ...EMPTY_ALERT_STATE, lastSuccessAt: '2027-01-01T00:00:10.000Z' };
    const late = run('a', { finished_at: '2027-01-01T00:00:05.000Z' });

    // Act
    const decision = decideFailure(state, { ...settings, failureThreshold: 1 }, late, true, at(20));
    const after = decideFailure(
      decision?.state as JobAlertState,
      { ...settings, failureThreshold: 1 },
      run('b', { finished_at: '2027-01-01T00:00:15.000Z' }),
      true,
      at(30),
    );

    // Assess
    expect(decision?.events.map((event) => event.type)).toEqual(['run.failed']);
    expect(decision?.state).toMatchObject({
      consecutiveFailures: 0,
      recentFailures: ['a'],
      lastFailureAt: '2027-01-01T00:00:05.000Z',
    });
    expect(decision?.pause).toBe(false);
    expect(after?.events.map((event) => event.type)).toEqual(['run.failed', 'job.failing']);
    expect(after?.state.consecutiveFailures).toBe(1);
  });
});

describe('decisions from sweeps', () => {
  const job = { id: 'job_1', name: 'Tick' };

  it('reports missed fires once, and stays quiet within the re-alert interval', () => {
    // Act
    const first = decideMissedFires(EMPTY_ALERT_STATE, DEFAULT_ALERT_SETTINGS, job, ['T1', 'T2'], at(0));
    const again = decideMissedFires(
      first?.state as JobAlertState,
      DEFAULT_ALERT_SETTINGS,
      job,
      ['T2'],
      at(60),
    );
    const soon = decideMissedFires(
      first?.state as JobAlertState,
      DEFAULT_ALERT_SETTINGS,
      job,
      ['T3'],
      at(60),
    );
    const late = decideMissedFires(
      soon?.state as JobAlertState,
      DEFAULT_ALERT_SETTINGS,
      job,
      ['T4'],
      at(3700),
    );

    // Assess
    expect(first?.events.map((event) => [event.type, event.key])).toEqual([
      ['fire.missed', 'job_1:fire.missed:T1'],
    ]);
    expect(again).toBeNull();
    expect(soon?.events).toEqual([]);
    expect(soon?.state.missedThrough).toBe('T3');
    expect(late?.events.map((event) => event.type)).toEqual(['fire.missed']);
  });

  it('warns of an overdue run once, and not before its time', () => {
    // Prepare
    const settings = { ...DEFAULT_ALERT_SETTINGS, maxDurationSeconds: 60 };
    const running = run('a', { status: 'running', started_at: at(0).toISOString(), finished_at: null });

    // Act
    const early = decideOverdue(EMPTY_ALERT_STATE, settings, running, at(59));
    const due = decideOverdue(EMPTY_ALERT_STATE, settings, running, at(61));
    const again = decideOverdue(due?.state as JobAlertState, settings, running, at(120));

    // Assess
    expect(early).toBeNull();
    expect(due?.events.map((event) => event.type)).toEqual(['run.overdue']);
    expect(again).toBeNull();
  });
});

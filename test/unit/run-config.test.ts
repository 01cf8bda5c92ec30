import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RUN_SETTINGS,
  MAX_TIMEOUT_SECONDS,
  mergeRunConfig,
  type RunSettings,
  retryDelaySeconds,
  runConfigViolations,
  runSettings,
} from '../../shared/domain/run-config.js';

describe('runConfigViolations', () => {
  it.each<[string, Record<string, unknown>]>([
    ['an empty config', {}],
    [
      'every key we define at its limits',
      { timeout: MAX_TIMEOUT_SECONDS, retry: { max_attempts: 10, backoff_seconds: 900 } },
    ],
    [
      'the smallest values',
      { timeout: 1, retry: { max_attempts: 1, backoff_seconds: 0 }, overlap_policy: 'allow' },
    ],
    ['a fractional backoff', { retry: { backoff_seconds: 0.5 } }],
    [
      'keys the target reads, passed through',
      { model: 'claude', temperature: 0.2, tools: ['git'], nested: { a: 1 } },
    ],
    ['an empty retry object', { retry: {}, overlap_policy: 'skip' }],
  ])('accepts %s', (_label, config) => {
    // Prepare
    // (the config)

    // Act
    const problems = runConfigViolations(config, 'config');

    // Assess
    expect(problems).toEqual([]);
  });

  it.each<[Record<string, unknown>, string, string]>([
    [{ timeout: 0 }, 'config.timeout', 'too_small'],
    [{ timeout: MAX_TIMEOUT_SECONDS + 1 }, 'config.timeout', 'too_big'],
    [{ timeout: '60' }, 'config.timeout', 'invalid_type'],
    [{ timeout: null }, 'config.timeout', 'invalid_type'],
    [{ retry: 3 }, 'config.retry', 'invalid_type'],
    [{ retry: { max_attempts: 0 } }, 'config.retry.max_attempts', 'too_small'],
    [{ retry: { max_attempts: 11 } }, 'config.retry.max_attempts', 'too_big'],
    [{ retry: { backoff_seconds: -1 } }, 'config.retry.backoff_seconds', 'too_small'],
    [{ retry: { backoff_seconds: 901 } }, 'config.retry.backoff_seconds', 'too_big'],
    [{ retry: { jitter: true } }, 'config.retry.jitter', 'unknown_field'],
    [{ overlap_policy: 'queue' }, 'config.overlap_policy', 'invalid_value'],
    [{ catchup: 'all' }, 'config.catchup', 'invalid_value'],
  ])('rejects %j at %s (%s)', (config, path, code) => {
    // Prepare
    // (the config)

    // Act
    const problems = runConfigViolations(config, 'config');

    // Assess
    expect(problems.map((problem) => ({ path: problem.path, code: problem.code }))).toEqual([{ path, code }]);
  });

  it('names every problem at once under the prefix it is given', () => {
    // Prepare
    const override = {
      timeout: -5,
      retry: { max_attempts: 0, backoff_seconds: -1 },
      overlap_policy: 'x',
      model: 'kept',
    };

    // Act
    const problems = runConfigViolations(override, 'config_override');

    // Assess
    expect(problems.map((problem) => problem.path)).toEqual([
      'config_override.timeout',
      'config_override.retry.max_attempts',
      'config_override.retry.backoff_seconds',
      'config_override.overlap_policy',
    ]);
    expect(problems.find((problem) => problem.path === 'config_override.timeout')?.message).toBe(
      'must be at least 1 second',
    );
  });

  it.each<[Record<string, unknown>, string, string]>([
    [{ timeout: 1.5 }, 'config.timeout', 'must be a whole number of seconds'],
    [{ retry: { max_attempts: 2.5 } }, 'config.retry.max_attempts', 'must be a whole number'],
  ])('says a fraction in %j must be whole, in the schema’s own words', (config, path, message) => {
    // Prepare
    // (the config)

    // Act
    const problems = runConfigViolations(config, 'config');

    // Assess
    // Known bug: friendlyMessage (shared/domain/validation.ts) rewrites zod 4's `.int()` issue, which is
    // an `invalid_type` with expected "int", as "must be a int", discarding the schema's message.
    expect(problems).toEqual([{ path, message, code: 'invalid_type' }]);
  });
});

describe('mergeRunConfig', () => {
  it('copies the config when there is no override', () => {
    // Prepare
    const config = { timeout: 60, model: 'a' };

    // Act
    const merged = mergeRunConfig(config, undefined);
    merged.timeout = 1;

    // Assess
    expect(config).toEqual({ timeout: 60, model: 'a' });
  });

  it('lays the override over the config one level deep, merging retry key by key', () => {
    // Prepare
    const config = { timeout: 60, retry: { max_attempts: 3, backoff_seconds: 5 }, model: 'a', tools: ['x'] };
    const override = { timeout: 120, retry: { backoff_seconds: 1 }, tools: ['y'] };

    // Act
    const merged = mergeRunConfig(config, override);

    // Assess
    expect(merged).toEqual({
      timeout: 120,
      retry: { max_attempts: 3, backoff_seconds: 1 },
      model: 'a',
      tools: ['y'],
    });
    expect(config.retry).toEqual({ max_attempts: 3, backoff_seconds: 5 });
  });

  it('takes the override’s retry whole when the config has none', () => {
    // Prepare
    const config = { timeout: 60 };

    // Act
    const merged = mergeRunConfig(config, { retry: { max_attempts: 2 } });

    // Assess
    expect(merged).toEqual({ timeout: 60, retry: { max_attempts: 2 } });
  });

  it('replaces other nested objects rather than merging them', () => {
    // Prepare
    const config = { options: { a: 1, b: 2 } };

    // Act
    const merged = mergeRunConfig(config, { options: { b: 3 } });

    // Assess
    expect(merged).toEqual({ options: { b: 3 } });
  });
});

describe('runSettings', () => {
  it('uses the defaults for every key the config leaves out', () => {
    // Prepare
    const config = { model: 'passes through' };

    // Act
    const settings = runSettings(config);

    // Assess
    expect(settings).toEqual({
      timeoutSeconds: 3600,
      maxAttempts: 1,
      backoffSeconds: 10,
      overlapPolicy: 'allow',
      webhookRateLimit: null,
      catchup: 'none',
    });
    expect(settings).toEqual(DEFAULT_RUN_SETTINGS);
  });

  it('reads every key it defines', () => {
    // Prepare
    const config = {
      timeout: 90,
      retry: { max_attempts: 4, backoff_seconds: 2.5 },
      overlap_policy: 'skip',
      webhook_rate_limit: { requests_per_second: 0.5, burst: 3 },
      catchup: 'latest',
    };

    // Act
    const settings = runSettings(config);
    const defaultBurst = runSettings({ webhook_rate_limit: { requests_per_second: 2.5 } });

    // Assess
    expect(settings).toEqual({
      timeoutSeconds: 90,
      maxAttempts: 4,
      backoffSeconds: 2.5,
      overlapPolicy: 'skip',
      webhookRateLimit: { rate: 0.5, burst: 3 },
      catchup: 'latest',
    });
    expect(defaultBurst.webhookRateLimit).toEqual({ rate: 2.5, burst: 3 });
  });

  it('keeps the other retry default when only one retry key is set', () => {
    // Prepare
    const config = { retry: { max_attempts: 3 } };

    // Act
    const settings = runSettings(config);

    // Assess
    expect(settings).toMatchObject({ maxAttempts: 3, backoffSeconds: 10 });
  });
});

describe('retryDelaySeconds', () => {
  const settings = (backoffSeconds: number): RunSettings => ({ ...DEFAULT_RUN_SETTINGS, backoffSeconds });

  it('doubles the backoff with each attempt already made', () => {
    // Prepare
    const attempts = [1, 2, 3, 4, 5];

    // Act
    const delays = attempts.map((attempt) => retryDelaySeconds(settings(10), attempt));

    // Assess
    expect(delays).toEqual([10, 20, 40, 80, 160]);
  });

  it('caps the delay at the 900 seconds SQS allows', () => {
    // Prepare
    const attempts = [6, 7, 10];

    // Act
    const delays = attempts.map((attempt) => retryDelaySeconds(settings(30), attempt));

    // Assess
    expect(delays).toEqual([900, 900, 900]);
    expect(retryDelaySeconds(settings(900), 1)).toBe(900);
  });

  it('retries at once with a zero backoff and rounds a fractional one to whole seconds', () => {
    // Prepare
    const attempts = [1, 2, 3];

    // Act
    const zero = attempts.map((attempt) => retryDelaySeconds(settings(0), attempt));
    const fractional = attempts.map((attempt) => retryDelaySeconds(settings(1.5), attempt));

    // Assess
    expect(zero).toEqual([0, 0, 0]);
    expect(fractional).toEqual([2, 3, 6]);
  });
});

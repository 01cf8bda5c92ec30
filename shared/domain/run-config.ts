import * as z from 'zod/mini';
import { AlertPolicySchema } from './alert-policy.js';
import type { ErrorDetail } from './errors.js';
import { jsonObjectSchema } from './json.js';
import { CATCHUP_POLICIES, type CatchupPolicy } from './schedule.js';
import { issuesToDetails } from './validation.js';

export const OVERLAP_POLICIES = ['allow', 'skip'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Longest deadline a run may have: a week. Longer work belongs in an async target that calls back. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
export const MAX_ATTEMPTS = 10;

/**
 * The keys of a job's `config` (and a trigger's `config_override`) that the service itself reads.
 * Every other key passes through to the target untouched, as the reference's open `config` has it.
 */
export const RunConfigSchema = z
  .looseObject({
    timeout: z.optional(
      z
        .number()
        .check(
          z.int('must be a whole number of seconds'),
          z.minimum(1, 'must be at least 1 second'),
          z.maximum(MAX_TIMEOUT_SECONDS, `must be at most ${MAX_TIMEOUT_SECONDS} seconds`),
        ),
    ),
    retry: z.optional(
      z.strictObject({
        max_attempts: z.optional(
          z
            .number()
            .check(
              z.int('must be a whole number'),
              z.minimum(1, 'must be at least 1'),
              z.maximum(MAX_ATTEMPTS, `must be at most ${MAX_ATTEMPTS}`),
            ),
        ),
        backoff_seconds: z.optional(
          z.number().check(z.minimum(0, 'must not be negative'), z.maximum(900, 'must be at most 900')),
        ),
      }),
    ),
    overlap_policy: z.optional(z.enum(OVERLAP_POLICIES)),
    catchup: z.optional(z.enum(CATCHUP_POLICIES)).register(z.globalRegistry, {
      description:
        'Cron jobs: after the local runtime was down, `latest` runs the most recent missed fire once; `none` runs none.',
    }),
    webhook_rate_limit: z
      .optional(
        z.strictObject({
          requests_per_second: z
            .number()
            .check(
              z.minimum(1 / 86_400, 'must be at least one a day (0.0000116)'),
              z.maximum(1000, 'must be at most 1000'),
            ),
          burst: z.optional(
            z
              .number()
              .check(
                z.int('must be a whole number'),
                z.minimum(1, 'must be at least 1'),
                z.maximum(1000, 'must be at most 1000'),
              ),
          ),
        }),
      )
      .register(z.globalRegistry, {
        description: 'Webhook jobs: deliveries accepted per second, with short bursts above it.',
      }),
    alerts: z.optional(AlertPolicySchema).register(z.globalRegistry, {
      description:
        'Who hears of failed runs and missed fires, and when the job is paused; see AlertPolicy. Read from the job only (ignored in a `config_override`).',
    }),
  })
  .register(z.globalRegistry, {
    id: 'RunConfig',
    description:
      "A job's `config` (and a trigger's `config_override`): the keys the service reads are checked; any other key passes through to the target untouched.",
  });

/**
 * A `config` or `config_override` as a request carries it: any JSON object. Its RunConfig keys are
 * checked by the rules of the job or the run (which name each bad key under the field), not by this
 * schema, so that those rules run once every field is well-formed; the API document shows it as RunConfig.
 */
export const RunConfigObjectSchema = jsonObjectSchema();

export interface RunSettings {
  /** Webhook deliveries per second and burst, when the job limits them. */
  webhookRateLimit: { rate: number; burst: number } | null;
  timeoutSeconds: number;
  maxAttempts: number;
  backoffSeconds: number;
  overlapPolicy: OverlapPolicy;
  catchup: CatchupPolicy;
}

export const DEFAULT_RUN_SETTINGS: RunSettings = {
  webhookRateLimit: null,
  timeoutSeconds: 3600,
  maxAttempts: 1,
  backoffSeconds: 10,
  overlapPolicy: 'allow',
  catchup: 'none',
};

/** Problems with the keys we define, with paths under `prefix` (`config`, `config_override`). */
export function runConfigViolations(config: Record<string, unknown>, prefix: string): ErrorDetail[] {
  const result = RunConfigSchema.safeParse(config, { reportInput: true });
  if (result.success) return [];
  return issuesToDetails(result.error.issues).map((detail) => ({
    ...detail,
    path: detail.path ? `${prefix}.${detail.path}` : prefix,
  }));
}

/** The job's config with a run's override laid over it (one level deep, `retry` merged key by key). */
export function mergeRunConfig(
  config: Record<string, unknown>,
  override: Record<string, unknown> | undefined,
): Record<string, unknown> {
  if (!override) return { ...config };
  const merged: Record<string, unknown> = { ...config, ...override };
  const baseRetry = config.retry;
  const overrideRetry = override.retry;
  if (isObject(baseRetry) && isObject(overrideRetry)) merged.retry = { ...baseRetry, ...overrideRetry };
  return merged;
}

/** The settings the service acts on, from an already validated config. */
export function runSettings(config: Record<string, unknown>): RunSettings {
  const parsed = RunConfigSchema.parse(config);
  return {
    timeoutSeconds: parsed.timeout ?? DEFAULT_RUN_SETTINGS.timeoutSeconds,
    maxAttempts: parsed.retry?.max_attempts ?? DEFAULT_RUN_SETTINGS.maxAttempts,
    backoffSeconds: parsed.retry?.backoff_seconds ?? DEFAULT_RUN_SETTINGS.backoffSeconds,
    overlapPolicy: parsed.overlap_policy ?? DEFAULT_RUN_SETTINGS.overlapPolicy,
    catchup: parsed.catchup ?? DEFAULT_RUN_SETTINGS.catchup,
    webhookRateLimit: parsed.webhook_rate_limit
      ? {
          rate: parsed.webhook_rate_limit.requests_per_second,
          burst:
            parsed.webhook_rate_limit.burst ??
            Math.max(1, Math.ceil(parsed.webhook_rate_limit.requests_per_second)),
        }
      : null,
  };
}

/** Delay before attempt `attempt + 1`: the backoff doubled for each attempt already made, capped at SQS's 900 s. */
export function retryDelaySeconds(settings: RunSettings, attempt: number): number {
  return Math.min(900, Math.round(settings.backoffSeconds * 2 ** (attempt - 1)));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

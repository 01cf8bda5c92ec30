/**
 * The names and ranges AWS (and this service) accept for the settings the stack's constructs take. The deployment settings
 * (config.ts) check a whole deployment against them and list every problem; each construct checks its own props
 * against the same ranges and throws on the first.
 */
export const limits = {
  /** Lambda's maximum timeout; a worker queue's visibility timeout is a minute more, well under SQS's 12 hours. */
  workerTimeoutSeconds: { min: 1, max: 900 },
  /** What an SQS redrive policy accepts. */
  maxReceiveCount: { min: 1, max: 1000 },
  executionRetentionDays: { min: 1, max: 3650 },
  sweepIntervalMinutes: { min: 1, max: 60 },
  /** At least once a day: a lost schedule write must not leave a cron job silent for longer. */
  scheduleReconcileIntervalMinutes: { min: 1, max: 1440 },
  /**
   * API Gateway takes a rate (a double) above 0; 10,000 requests per second is the default account-level
   * quota, so a route limit above it has no effect.
   */
  throttleRateLimit: { min: 0, max: 10_000 },
  /** An integer; 0 would shut the route. */
  throttleBurstLimit: { min: 1, max: 5000 },
} as const;

/**
 * Queue and environment names: they become parts of construct ids and are matched by the API against
 * `worker_queue_name` / `environment_name` (same alphabet as the job schema's).
 */
export const resourceNamePattern = /^[A-Za-z0-9_-]{1,64}$/;

// A function name, optionally qualified by a version or alias (`my-agent`, `my-agent:live`).
const lambdaNamePattern = /^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;
// A full function ARN in any partition, optionally qualified; never a wildcard.
const lambdaArnPattern =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;

/** True for what `lambdaTargets` accepts: a function name (optionally `:<alias>`) or a full ARN, no wildcard. */
export function isLambdaTarget(target: string): boolean {
  return lambdaNamePattern.test(target) || lambdaArnPattern.test(target);
}

/** An integer range of {@link limits}. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

/** The problem with `value` as the setting `field`, or undefined when it is an integer within `range`. */
export function integerProblem(field: string, value: number, range: IntegerRange): string | undefined {
  return Number.isInteger(value) && value >= range.min && value <= range.max
    ? undefined
    : `${field} must be an integer from ${range.min} to ${range.max}, got ${value}`;
}

/** The problem with `value` as a throttling rate, or undefined when API Gateway accepts it. */
export function rateProblem(field: string, value: number): string | undefined {
  const { min, max } = limits.throttleRateLimit;
  return Number.isFinite(value) && value > min && value <= max
    ? undefined
    : `${field} must be a number above ${min} and at most ${max}, got ${value}`;
}

/** Throws the first problem found (for construct props, checked when the construct is built). */
export function throwFirst(construct: string, problems: readonly (string | undefined)[]): void {
  const problem = problems.find((candidate) => candidate !== undefined);
  if (problem !== undefined) throw new Error(`${construct}: ${problem}`);
}

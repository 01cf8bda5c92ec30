import type { ExecutionRequest } from '../../domain/execution.js';
import type { TargetOutcome } from '../../ports.js';
import { snippet } from '../http-target.js';

/**
 * What the `stepfunctions`, `sqs` and `eventbridge` adapters share: one client per region (a resource in
 * another region must be called there), a deadline on each call, and one mapping of AWS API errors.
 */

/** One client per region, built on first use; `null` is the runtime's own region. */
export type RegionalClients<C> = (region: string | null) => C;

/** Caches the clients `create` builds, one per region. */
export function regionalClients<C>(create: (region: string | null) => C): RegionalClients<C> {
  const clients = new Map<string | null, C>();
  return (region) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = create(region);
      clients.set(region, client);
    }
    return client;
  };
}

/** The call did not answer within its time. */
export class TargetCallTimeoutError extends Error {
  constructor(service: string, timeoutMs: number) {
    super(`${service} did not answer within ${timeoutMs} ms.`);
    this.name = 'TargetCallTimeoutError';
  }
}

/**
 * Runs `call` with an abort signal that fires after `timeoutMs`, and races it too, so the outcome does not
 * depend on the transport honouring the signal.
 * @throws TargetCallTimeoutError when the time runs out first
 */
export async function callWithin<T>(
  service: string,
  timeoutMs: number,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const limit = Math.max(0, timeoutMs);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TargetCallTimeoutError(service, limit));
    }, limit);
  });
  try {
    return await Promise.race([call(controller.signal), deadline]);
  } catch (error) {
    if (controller.signal.aborted && !(error instanceof TargetCallTimeoutError)) {
      throw new TargetCallTimeoutError(service, limit);
    }
    throw error;
  } finally {
    clearTimeout(timer);
    // The losing side of the race may still settle; nothing waits on it.
    deadline.catch(() => undefined);
  }
}

/** An error answered by an AWS API (every client's ServiceException has these fields). */
export interface AwsServiceError extends Error {
  $fault: 'client' | 'server';
  $metadata: { httpStatusCode?: number };
  $retryable?: unknown;
}

export function isAwsServiceError(error: unknown): error is AwsServiceError {
  return (
    error instanceof Error &&
    '$fault' in error &&
    '$metadata' in error &&
    typeof (error as { $metadata: unknown }).$metadata === 'object'
  );
}

/** Statuses worth another attempt besides server faults: request timeout, throttling. */
const RETRYABLE_STATUSES = new Set([408, 429]);

/**
 * Throttling errors that services answer with a 400 and do not model as errors of their own (Step Functions'
 * and EventBridge's `ThrottlingException`), so they have no class to test for: the names the SDK's own retry
 * strategy treats as throttling.
 */
const THROTTLING_ERROR_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
]);

/** Errors of a service, besides server faults and throttling, that another attempt may get past. */
export type RetryableError = (error: AwsServiceError) => boolean;

/**
 * Whether another attempt may succeed: anything that is not an answer from the API (a network failure) is
 * transient; of the API's answers, server faults, throttling, and what `retryable` accepts.
 */
export function isRetryableAwsError(error: unknown, retryable: RetryableError = () => false): boolean {
  if (!isAwsServiceError(error)) return true;
  const status = error.$metadata.httpStatusCode;
  return (
    error.$fault === 'server' ||
    THROTTLING_ERROR_NAMES.has(error.name) ||
    retryable(error) ||
    (status !== undefined && (status >= 500 || RETRYABLE_STATUSES.has(status))) ||
    error.$retryable !== undefined
  );
}

/** The failed outcome of a call that threw: a timeout, or the API's error named and classified. */
export function failedCall(
  service: string,
  error: unknown,
  retryable?: RetryableError,
): Extract<TargetOutcome, { kind: 'failed' }> {
  if (error instanceof TargetCallTimeoutError) {
    return { kind: 'failed', error: error.message, retryable: true, timedOut: true };
  }
  return {
    kind: 'failed',
    error: snippet(`${service} call failed: ${describeError(error)}`),
    retryable: isRetryableAwsError(error, retryable),
    timedOut: false,
  };
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The request as the AWS kinds send it: without `callback`. The service itself ends these runs (on
 * acceptance, or when the state machine ends), so there is nothing to call back, and the token, a secret,
 * would otherwise sit in the queue, on the bus or in the execution's history for anyone who may read them.
 */
export function withoutCallback(request: ExecutionRequest): Omit<ExecutionRequest, 'callback'> {
  const { callback: _callback, ...rest } = request;
  return rest;
}

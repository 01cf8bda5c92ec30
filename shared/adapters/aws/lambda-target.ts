import { InvokeCommand, type LambdaClient, LambdaServiceException } from '@aws-sdk/client-lambda';
import type { LambdaTarget } from '../../domain/entity.js';
import type { ExecutionRequest } from '../../domain/execution.js';
import type { TargetOutcome } from '../../ports.js';
import { snippet } from '../http-target.js';
import { withoutCallback } from './aws-target-calls.js';

/** Statuses of Lambda API errors worth another attempt besides server faults: timeout, conflict (function being updated), throttling. */
const RETRYABLE_API_STATUSES = new Set([408, 409, 429]);

class InvocationTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`The Lambda function did not answer within ${timeoutMs} ms.`);
    this.name = 'InvocationTimeoutError';
  }
}

function decodePayload(payload: Uint8Array | undefined): unknown {
  if (!payload || payload.byteLength === 0) return null;
  const text = new TextDecoder().decode(payload);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `{ statusCode: 202 }` (an API Gateway-style result) means the function took the run and will call back. */
function isAccepted(output: unknown): boolean {
  return (
    typeof output === 'object' &&
    output !== null &&
    !Array.isArray(output) &&
    (output as { statusCode?: unknown }).statusCode === 202
  );
}

function describeFunctionError(kind: string, output: unknown): string {
  if (typeof output === 'object' && output !== null) {
    const { errorType, errorMessage } = output as { errorType?: unknown; errorMessage?: unknown };
    const parts = [errorType, errorMessage].filter((part): part is string => typeof part === 'string');
    if (parts.length > 0) return snippet(`Lambda function error (${kind}): ${parts.join(': ')}`);
  }
  const detail = typeof output === 'string' ? output : JSON.stringify(output);
  return snippet(`Lambda function error (${kind})${detail ? `: ${detail}` : ''}`);
}

function isRetryableApiError(error: unknown): boolean {
  // Anything that is not an answer from the Lambda API (a network failure, a dropped connection) is transient.
  if (!(error instanceof LambdaServiceException)) return true;
  const status = error.$metadata?.httpStatusCode;
  return (
    error.$fault === 'server' ||
    (status !== undefined && (status >= 500 || RETRYABLE_API_STATUSES.has(status))) ||
    error.$retryable !== undefined
  );
}

/**
 * Invokes `lambda` targets synchronously (`RequestResponse`) with the whole execution request as the
 * payload (the callback included, so an accepting function can finish the run later); or, with
 * `invocation: "event"`, asynchronously (`Event`) with the request without `callback` (the run succeeds,
 * with no output, once Lambda has queued the event, so there is nothing to call back).
 *
 * Outcomes:
 * - a result object `{ statusCode: 202, … }` → `accepted` (the function will call back);
 * - any other result → `succeeded`, its JSON as output (text when not JSON, null when empty);
 * - `FunctionError` set → failed, retryable: "Handled" (the function threw) is treated like an HTTP 5xx
 *   and "Unhandled" (crash, out of memory, the function's own timeout) is transient;
 * - throttling, API timeouts, conflicts (function being updated) and server faults → failed, retryable;
 *   other API errors (not found, access denied, invalid parameter, payload too large) → failed, not retryable;
 * - no answer within `timeoutMs` → failed, retryable, `timedOut`.
 *
 * The client's own request timeout must allow the longest target timeout (up to 15 minutes).
 */
export class LambdaTargetInvoker {
  constructor(private readonly client: LambdaClient) {}

  async invoke(
    target: LambdaTarget,
    request: ExecutionRequest,
    options: { timeoutMs: number },
  ): Promise<TargetOutcome> {
    const timeoutMs = Math.max(0, options.timeoutMs);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Racing the call as well as aborting it: the outcome does not depend on the transport honouring the signal.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new InvocationTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    const asynchronous = target.invocation === 'event';
    const command = new InvokeCommand({
      FunctionName: target.function_name,
      InvocationType: asynchronous ? 'Event' : 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(asynchronous ? withoutCallback(request) : request)),
    });

    try {
      const result = await Promise.race([
        this.client.send(command, { abortSignal: controller.signal }),
        deadline,
      ]);
      // Accepted (202): Lambda queued the event and runs the function on its own.
      if (asynchronous) return { kind: 'succeeded', output: null };
      const output = decodePayload(result.Payload);
      if (result.FunctionError) {
        return {
          kind: 'failed',
          error: describeFunctionError(result.FunctionError, output),
          retryable: true,
          timedOut: false,
        };
      }
      if (isAccepted(output)) return { kind: 'accepted' };
      return { kind: 'succeeded', output };
    } catch (error) {
      if (error instanceof InvocationTimeoutError || controller.signal.aborted) {
        return {
          kind: 'failed',
          error: new InvocationTimeoutError(timeoutMs).message,
          retryable: true,
          timedOut: true,
        };
      }
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return {
        kind: 'failed',
        error: snippet(`Lambda invocation failed: ${message}`),
        retryable: isRetryableApiError(error),
        timedOut: false,
      };
    } finally {
      clearTimeout(timer);
      // The losing side of the race may still settle; nothing waits on it.
      deadline.catch(() => undefined);
    }
  }
}

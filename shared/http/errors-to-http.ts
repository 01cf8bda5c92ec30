import { type ErrorKind, ForbiddenError, JobsServiceError, RateLimitedError } from '../domain/errors.js';
import { MethodNotAllowedError } from './errors.js';

interface HttpAnswer {
  status: number;
  /** Headers the answer carries for this kind of error. */
  headers?: (error: JobsServiceError<string>) => Record<string, string>;
}

/** The one table from errors to HTTP. A kind missing here is a bug, answered as any bug is: 500. */
const HTTP_ANSWERS: Record<ErrorKind | MethodNotAllowedError['kind'], HttpAnswer> = {
  invalid_request: { status: 400 },
  unauthenticated: { status: 401, headers: () => ({ 'www-authenticate': 'Bearer' }) },
  // A delivery is signed, not sent with a bearer credential: no challenge to answer.
  signature_rejected: { status: 401 },
  // RFC 6750's challenge for a credential that is valid but not enough, with the scope it needs.
  forbidden: {
    status: 403,
    headers: (error): Record<string, string> =>
      error instanceof ForbiddenError
        ? { 'www-authenticate': `Bearer error="insufficient_scope", scope="${error.requiredScope}"` }
        : {},
  },
  not_found: { status: 404 },
  method_not_allowed: {
    status: 405,
    headers: (error): Record<string, string> =>
      error instanceof MethodNotAllowedError ? { allow: error.allow.join(', ') } : {},
  },
  conflict: { status: 409 },
  too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  invalid_input: { status: 422 },
  rate_limited: {
    status: 429,
    headers: (error): Record<string, string> =>
      error instanceof RateLimitedError ? { 'retry-after': String(error.retryAfterSeconds) } : {},
  },
};

function answerFor(error: unknown): HttpAnswer | undefined {
  if (!(error instanceof JobsServiceError)) return undefined;
  return Object.hasOwn(HTTP_ANSWERS, error.kind) ? HTTP_ANSWERS[error.kind as ErrorKind] : undefined;
}

/** The status `error` is answered with: its kind's, or 500 for anything that is not one of ours. */
export function httpStatusOf(error: unknown): number {
  return answerFor(error)?.status ?? 500;
}

/**
 * How `error` is answered: its status and headers, and whether its message may be shown (our own
 * errors, by their kind); anything else is a bug, answered with an opaque 500.
 */
export function httpAnswerOf(error: unknown): {
  status: number;
  headers: Record<string, string>;
  shown: boolean;
} {
  const answer = answerFor(error);
  if (!answer || !(error instanceof JobsServiceError)) return { status: 500, headers: {}, shown: false };
  return { status: answer.status, headers: answer.headers?.(error) ?? {}, shown: true };
}

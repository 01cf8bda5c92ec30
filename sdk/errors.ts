import type { ErrorDetail } from '../shared/domain/errors.js';

/** What every SDK error is built from. */
export interface JobErrorOptions {
  /** HTTP status of the answer; 0 when none arrived (network failure, timeout, bad configuration). */
  status: number;
  /** The service's machine-readable code (`not_found`, `validation_failed`…), or the SDK's own. */
  code: string;
  /** One entry per field the service found a problem with. @default [] */
  details?: ErrorDetail[];
  /** The underlying failure (a `fetch` error, a JSON parse error). */
  cause?: unknown;
}

/**
 * Every failure of a call to the service. `status` is the HTTP status (0 when no answer arrived), `code`
 * the service's error code and `details` its per-field problems. Catch the subclasses to tell the cases
 * apart (`instanceof NotFoundError`…); each has its own `name`.
 */
export class JobError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];

  constructor(message: string, options: JobErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'JobError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details ?? [];
  }
}

/** 400 or 422: the request is malformed or a field is invalid; each field is named in `details[].path`. */
export class ValidationError extends JobError {
  override readonly name: string = 'ValidationError';
}

/** 401 or 403: a missing or wrong API key (or, for a webhook delivery, a signature that does not verify). */
export class AuthError extends JobError {
  override readonly name: string = 'AuthError';
}

/** 404: no job, execution or entity with that id (or no such route). */
export class NotFoundError extends JobError {
  override readonly name: string = 'NotFoundError';
}

/** 409: the request conflicts with the current state (a disabled job triggered, an entity still in use). */
export class ConflictError extends JobError {
  override readonly name: string = 'ConflictError';
}

/** 429: too many requests; `retryAfterSeconds` is the service's `Retry-After`, when it sent one. */
export class RateLimitedError extends JobError {
  override readonly name: string = 'RateLimitedError';
  /** Seconds the service asked to wait before the next try; `null` when it did not say. */
  readonly retryAfterSeconds: number | null;

  constructor(message: string, options: JobErrorOptions & { retryAfterSeconds: number | null }) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** 5xx: the service (or a gateway in front of it) failed; 500, 502, 503 and 504 are retried when safe. */
export class ServerError extends JobError {
  override readonly name: string = 'ServerError';
}

/** No answer arrived (`status` 0): DNS, refused connection, reset socket (`code` `network_error`). */
export class NetworkError extends JobError {
  override readonly name: string = 'NetworkError';
}

/** No answer arrived within the client's `timeoutMs` (`status` 0, `code` `timeout`). */
export class TimeoutError extends NetworkError {
  override readonly name: string = 'TimeoutError';
}

/** How many field problems a message names, so it stays one readable line (`details` has them all). */
const MAX_DETAILS_SHOWN = 5;

/**
 * The error for an HTTP answer that is not a success: the service's `{"error": {code, message, details}}`
 * when the body has that shape, else the status alone (a proxy or gateway answered). The message is one
 * line: the status, the code, then each field's problem or the service's message.
 * @internal Not part of the SDK's public API (not exported by `serverless-jobs/client`).
 */
export function errorFromResponse(status: number, text: string, retryAfterSeconds: number | null): JobError {
  const parsed = parseErrorBody(text);
  const code = parsed?.code ?? `http_${status}`;
  const details = parsed?.details ?? [];
  const message = `${status} ${code}: ${summarize(parsed?.message ?? `The service answered ${status}.`, details)}`;
  const options: JobErrorOptions = { status, code, details };
  if (status === 400 || status === 422) return new ValidationError(message, options);
  if (status === 401 || status === 403) return new AuthError(message, options);
  if (status === 404) return new NotFoundError(message, options);
  if (status === 409) return new ConflictError(message, options);
  if (status === 429) return new RateLimitedError(message, { ...options, retryAfterSeconds });
  if (status >= 500) return new ServerError(message, options);
  return new JobError(message, options);
}

function parseErrorBody(text: string): { code: string; message: string; details: ErrorDetail[] } | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null; // not our error shape: a proxy or gateway answered
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string') return null;
  const details = Array.isArray(error.details)
    ? error.details.filter(
        (detail): detail is ErrorDetail =>
          typeof detail === 'object' &&
          detail !== null &&
          typeof (detail as ErrorDetail).path === 'string' &&
          typeof (detail as ErrorDetail).message === 'string',
      )
    : [];
  return { code: error.code, message: error.message, details };
}

/** Every field's problem (`path: message; …`) when there are details, else the service's message; one line. */
function summarize(message: string, details: ErrorDetail[]): string {
  if (details.length === 0) return oneLine(message);
  const shown = details
    .slice(0, MAX_DETAILS_SHOWN)
    .map((detail) => (detail.path ? `${detail.path}: ${detail.message}` : detail.message));
  const more = details.length - shown.length;
  return oneLine(`${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

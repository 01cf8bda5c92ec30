/** One problem with one field of a request, as returned in `error.details`. */
export interface ErrorDetail {
  /** Dotted path to the field (`config.timeout`, `items[0].name`); empty for the body as a whole. */
  path: string;
  message: string;
  code?: string;
}

/**
 * What went wrong, in the service's own terms. A transport maps each kind to its own answer (the HTTP
 * layer's table is `shared/http/errors-to-http.ts`); the domain knows nothing of status codes.
 */
export type ErrorKind =
  /** The request cannot be read: malformed JSON, a body that is not an object, a cursor we did not issue. */
  | 'invalid_request'
  /** No valid credentials: an API key or a callback token. */
  | 'unauthenticated'
  /** Authenticated, but the caller's scope does not cover the route; `requiredScope` names the one needed. */
  | 'forbidden'
  /** A webhook delivery whose signature does not verify (one answer for every cause). */
  | 'signature_rejected'
  | 'not_found'
  /** The request conflicts with the current state (a disabled job, a referenced entity, a lost race). */
  | 'conflict'
  /** A body over the size limit. */
  | 'too_large'
  /** A body in a media type that is not read. */
  | 'unsupported_media_type'
  /** Well-formed but invalid: `details` names every bad field. */
  | 'invalid_input'
  /** Over a rate limit; `retryAfterSeconds` says when to come back. */
  | 'rate_limited';

/**
 * Base of every error the service reports to a caller: its message and `details` are safe to show.
 * Anything that is not one of these is a bug, which a transport hides behind an opaque failure.
 */
export abstract class JobsServiceError<K extends string = ErrorKind> extends Error {
  /** What went wrong; the transport's table turns it into a status. */
  abstract readonly kind: K;
  /** Machine-readable code sent to the caller (`validation_failed`, `malformed_json`, …). */
  abstract readonly code: string;
  readonly details: ErrorDetail[];

  constructor(message: string, details: ErrorDetail[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.details = details;
  }
}

export class BadRequestError extends JobsServiceError {
  readonly kind = 'invalid_request';
  readonly code: string;
  constructor(message: string, code = 'bad_request', details: ErrorDetail[] = []) {
    super(message, details);
    this.name = 'BadRequestError';
    this.code = code;
  }
}

export class UnauthorizedError extends JobsServiceError {
  readonly kind = 'unauthenticated';
  readonly code = 'unauthorized';
  constructor(message = 'A valid API key is required: send "Authorization: Bearer <key>".') {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

/** A caller whose key's scope does not cover the route. */
export class ForbiddenError extends JobsServiceError {
  readonly kind = 'forbidden';
  readonly code = 'insufficient_scope';
  constructor(
    readonly requiredScope: string,
    held: string,
  ) {
    super(`This request needs the scope "${requiredScope}"; the caller has "${held}".`);
    this.name = 'ForbiddenError';
  }
}

export class NotFoundError extends JobsServiceError {
  readonly kind = 'not_found';
  readonly code = 'not_found';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends JobsServiceError {
  readonly kind = 'conflict';
  readonly code = 'conflict';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, [], options);
    this.name = 'ConflictError';
  }
}

export class PayloadTooLargeError extends JobsServiceError {
  readonly kind = 'too_large';
  readonly code = 'payload_too_large';
  constructor(limitBytes: number) {
    super(`The request body is larger than the limit of ${limitBytes} bytes.`);
    this.name = 'PayloadTooLargeError';
  }
}

/** A body in a media type the route does not read; `details` names the header. */
export class UnsupportedMediaTypeError extends JobsServiceError {
  readonly kind = 'unsupported_media_type';
  readonly code = 'unsupported_media_type';
  constructor(message: string, details: ErrorDetail[]) {
    super(message, details);
    this.name = 'UnsupportedMediaTypeError';
  }
}

export class ValidationError extends JobsServiceError {
  readonly kind = 'invalid_input';
  readonly code = 'validation_failed';
  constructor(details: ErrorDetail[], message?: string) {
    super(message ?? summarize(details), details);
    this.name = 'ValidationError';
  }
}

/** More requests than a limit allows (a webhook job's `config.webhook_rate_limit`). */
export class RateLimitedError extends JobsServiceError {
  readonly kind = 'rate_limited';
  readonly code = 'rate_limited';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many deliveries for this webhook; retry after ${retryAfterSeconds} s.`);
    this.name = 'RateLimitedError';
  }
}

/** A rejected webhook delivery; `reason` is for metrics and logs only, never for the caller. */
export class WebhookRejectedError extends JobsServiceError {
  readonly kind = 'signature_rejected';
  readonly code = 'invalid_signature';
  constructor(readonly reason: string) {
    // One message for every cause: a caller probing learns nothing about which part failed.
    super('The webhook signature could not be verified.');
    this.name = 'WebhookRejectedError';
  }
}

function summarize(details: ErrorDetail[]): string {
  const first = details[0];
  if (!first) return 'The request is invalid.';
  const where = first.path ? `${first.path}: ` : '';
  const more =
    details.length > 1 ? ` (and ${details.length - 1} more problem${details.length > 2 ? 's' : ''})` : '';
  return `${where}${first.message}${more}`;
}

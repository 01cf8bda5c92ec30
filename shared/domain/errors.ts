/** One problem with one field of a request, as returned in `error.details`. */
export interface ErrorDetail {
  /** Dotted path to the field (`config.timeout`, `items[0].name`); empty for the body as a whole. */
  path: string;
  message: string;
  code?: string;
}

/**
 * Base of every error the service reports to a caller. `statusCode` below 500 means the message is
 * safe to show; the HTTP layer maps these in one place and hides everything else behind a 500.
 */
export abstract class JobsServiceError extends Error {
  abstract readonly statusCode: number;
  abstract readonly code: string;
  readonly details: ErrorDetail[];

  constructor(message: string, details: ErrorDetail[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.details = details;
  }
}

export class BadRequestError extends JobsServiceError {
  readonly statusCode = 400;
  readonly code: string;
  constructor(message: string, code = 'bad_request', details: ErrorDetail[] = []) {
    super(message, details);
    this.name = 'BadRequestError';
    this.code = code;
  }
}

export class UnauthorizedError extends JobsServiceError {
  readonly statusCode = 401;
  readonly code = 'unauthorized';
  constructor(message = 'A valid API key is required: send "Authorization: Bearer <key>".') {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

export class NotFoundError extends JobsServiceError {
  readonly statusCode = 404;
  readonly code = 'not_found';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class MethodNotAllowedError extends JobsServiceError {
  readonly statusCode = 405;
  readonly code = 'method_not_allowed';
  readonly allow: string[];
  constructor(method: string, path: string, allow: string[]) {
    super(`${method} is not allowed on ${path.slice(0, 200)}; allowed: ${allow.join(', ')}.`);
    this.name = 'MethodNotAllowedError';
    this.allow = allow;
  }
}

export class ConflictError extends JobsServiceError {
  readonly statusCode = 409;
  readonly code = 'conflict';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, [], options);
    this.name = 'ConflictError';
  }
}

export class PayloadTooLargeError extends JobsServiceError {
  readonly statusCode = 413;
  readonly code = 'payload_too_large';
  constructor(limitBytes: number) {
    super(`The request body is larger than the limit of ${limitBytes} bytes.`);
    this.name = 'PayloadTooLargeError';
  }
}

/** A body in a media type the route does not read; `details` names the header. */
export class UnsupportedMediaTypeError extends JobsServiceError {
  readonly statusCode = 415;
  readonly code = 'unsupported_media_type';
  constructor(message: string, details: ErrorDetail[]) {
    super(message, details);
    this.name = 'UnsupportedMediaTypeError';
  }
}

export class ValidationError extends JobsServiceError {
  readonly statusCode = 422;
  readonly code = 'validation_failed';
  constructor(details: ErrorDetail[], message?: string) {
    super(message ?? summarize(details), details);
    this.name = 'ValidationError';
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

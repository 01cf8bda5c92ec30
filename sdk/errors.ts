import type { ErrorDetail } from '../shared/domain/errors.js';

/** Every failure of a call to the service: `status` is the HTTP status (0 when no response arrived). */
export class JobError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];

  constructor(
    message: string,
    options: { status: number; code: string; details?: ErrorDetail[]; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'JobError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details ?? [];
  }
}

import { JobsServiceError } from '../domain/errors.js';

/** A path that exists, asked with a method it does not have; `allow` lists the ones it has. */
export class MethodNotAllowedError extends JobsServiceError<'method_not_allowed'> {
  readonly kind = 'method_not_allowed';
  readonly code = 'method_not_allowed';
  readonly allow: string[];
  constructor(method: string, path: string, allow: string[]) {
    super(`${method} is not allowed on ${path.slice(0, 200)}; allowed: ${allow.join(', ')}.`);
    this.name = 'MethodNotAllowedError';
    this.allow = allow;
  }
}

import type * as z from 'zod/mini';
import { type ErrorDetail, ValidationError } from './errors.js';
import './zod-locale.js';

/** Formats a zod path the way callers write it: `config.retry[0].backoff_seconds`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** Turns zod issues into `details` entries: one per field, unknown keys listed one by one. */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        details.push({
          path: formatPath([...issue.path, key]),
          message: 'is not a known field',
          code: 'unknown_field',
        });
      }
    } else if (
      (issue.code === 'invalid_type' || issue.code === 'invalid_value') &&
      issue.input === undefined
    ) {
      details.push({ path: formatPath(issue.path), message: 'is required', code: 'required' });
    } else {
      details.push({ path: formatPath(issue.path), message: friendlyMessage(issue), code: codeOf(issue) });
    }
  }
  return details;
}

/** zod's code, or the one a custom check names in `params.code` (`never_fires`, `repeated_parameter`, …). */
function codeOf(issue: z.core.$ZodIssue): string {
  const named = issue.code === 'custom' ? issue.params?.code : undefined;
  return typeof named === 'string' ? named : issue.code;
}

const ARTICLE: Record<string, string> = { object: 'a JSON object', array: 'an array', boolean: 'a boolean' };

/** zod's wording ("Invalid input: expected string, received number") rephrased as the rest of our messages. */
function friendlyMessage(issue: z.core.$ZodIssue): string {
  // Messages a schema spelled out itself (e.g. "must be a whole number of seconds") stay as written.
  if (!/^Invalid (input|option)/.test(issue.message)) return issue.message;
  if (issue.code === 'invalid_type') return `must be ${ARTICLE[issue.expected] ?? `a ${issue.expected}`}`;
  if (issue.code === 'invalid_value') {
    return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  return issue.message;
}

/** Parses `input` with `schema` or throws a `ValidationError` whose details name every bad field. */
export function parseOrThrow<S extends z.ZodMiniType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ValidationError(issuesToDetails(result.error.issues));
  return result.data;
}

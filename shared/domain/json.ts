import * as z from 'zod/mini';
import { BadRequestError, ValidationError } from './errors.js';
import { formatPath } from './validation.js';

export const MAX_JSON_DEPTH = 32;

/** A JSON value whose numbers are finite and whose nesting stays within `MAX_JSON_DEPTH`. */
export function isPlainJson(value: unknown, depth = 0): boolean {
  if (depth > MAX_JSON_DEPTH) return false;
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (Array.isArray(value)) return value.every((item) => isPlainJson(item, depth + 1));
  if (typeof value === 'object') return Object.values(value).every((item) => isPlainJson(item, depth + 1));
  return false;
}

/**
 * A JSON object schema: checked in place rather than with z.record, since a record is copied key by key,
 * and copying a "__proto__" key would replace the copy's prototype instead of keeping the caller's data.
 */
export function jsonObjectSchema(): z.ZodMiniType<Record<string, unknown>, Record<string, unknown>> {
  return z.unknown().check((ctx) => {
    const value = ctx.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      ctx.issues.push({
        code: 'invalid_type',
        expected: 'object',
        input: value,
        message: 'must be a JSON object',
      });
    } else if (!isPlainJson(value)) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `must hold only finite numbers and nest at most ${MAX_JSON_DEPTH} deep`,
      });
    }
  }) as z.ZodMiniType<Record<string, unknown>, Record<string, unknown>>;
}

export const JsonObjectSchema = jsonObjectSchema().register(z.globalRegistry, {
  id: 'JsonObject',
  description: 'Any JSON object (finite numbers, nested at most 32 deep).',
});

export type JsonObject = Record<string, unknown>;

/** A step of a path through a JSON value, linked to its parent so the walk copies no paths. */
interface PathStep {
  parent: PathStep | null;
  segment: string | number;
}

function segmentsOf(step: PathStep | null): (string | number)[] {
  const segments: (string | number)[] = [];
  for (let at = step; at !== null; at = at.parent) segments.push(at.segment);
  return segments.reverse();
}

/**
 * The path to the first string or object key in a parsed JSON value that is not well-formed UTF-16 (a
 * lone surrogate, which JSON's `\ud800` escapes can spell), or null when every one is. A bad key is
 * named with its lone surrogates replaced by U+FFFD. The walk keeps its own stack, so a value nested
 * thousands deep cannot overflow the call stack.
 */
export function findIllFormedString(value: unknown): (string | number)[] | null {
  const pending: [unknown, PathStep | null][] = [[value, null]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, at] = next;
    if (typeof current === 'string') {
      if (!current.isWellFormed()) return segmentsOf(at);
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        pending.push([current[index], { parent: at, segment: index }]);
      }
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (const [key] of entries) {
        if (!key.isWellFormed()) return segmentsOf({ parent: at, segment: key.toWellFormed() });
      }
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, item] = entries[index] as [string, unknown];
        pending.push([item, { parent: at, segment: key }]);
      }
    }
  }
  return null;
}

/**
 * Bytes as a JSON object: 400 if they are not UTF-8 JSON or not an object, 422 naming the field if a
 * string or key in it is not well-formed UTF-16. `what` starts the messages ("The request body").
 */
export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new BadRequestError(`${what} is not valid UTF-8 JSON.`, 'malformed_json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError(`${what} must be a JSON object.`, 'invalid_body');
  }
  const illFormed = findIllFormedString(value);
  if (illFormed !== null) {
    throw new ValidationError([
      {
        path: formatPath(illFormed),
        message: 'is not valid Unicode text: it holds a lone UTF-16 surrogate',
        code: 'invalid_string',
      },
    ]);
  }
  return value as Record<string, unknown>;
}

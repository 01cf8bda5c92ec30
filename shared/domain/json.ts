import { z } from 'zod';

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

// Checked in place rather than with z.record: a record is copied key by key, and copying a "__proto__"
// key would replace the copy's prototype instead of keeping the caller's data.
export const JsonObjectSchema = z.unknown().check((ctx) => {
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
}) as z.ZodType<Record<string, unknown>>;

export type JsonObject = Record<string, unknown>;

import * as z from 'zod/mini';
import { type ErrorDetail, ValidationError } from '../domain/errors.js';
import { issuesToDetails, parseOrThrow } from '../domain/validation.js';
import type { FieldsSchema } from './route-definition.js';

type Query = Readonly<Record<string, string | undefined>>;

interface QueryRules {
  /** Names that take one value: a comma in one means it was given twice. */
  once: readonly string[];
  /**
   * Read as zod reads a strict object: problems in field order with zod's codes, unknown names last as
   * "is not a known field". Otherwise unknown names come first ("is not a known query parameter") and a
   * value that does not parse is `invalid`, unless its check names a code of its own.
   */
  strict: boolean;
}

const RULES = new WeakMap<FieldsSchema, QueryRules>();

/**
 * A route's query parameters. API Gateway joins a repeated parameter's values with commas; the names in
 * `once` take no list, so a comma there means the parameter was given twice (`repeated_parameter`,
 * reported alone). `strict` keeps GET /jobs answering as its schema always has (see QueryRules).
 */
export function queryParameters<S extends z.core.$ZodShape>(
  shape: S,
  rules: { once?: readonly (keyof S & string)[]; strict?: boolean } = {},
): z.ZodMiniObject<S> {
  const schema = rules.strict ? z.strictObject(shape) : z.object(shape);
  RULES.set(schema as unknown as FieldsSchema, { once: rules.once ?? [], strict: rules.strict ?? false });
  return schema as z.ZodMiniObject<S>;
}

/**
 * Parses a query string's parameters (an object without a prototype, so `__proto__` is a name like any
 * other) with a route's schema, or throws a `ValidationError` naming each bad parameter.
 */
export function parseQuery<S extends FieldsSchema>(schema: S, query: Query): z.output<S> {
  const rules = RULES.get(schema) ?? { once: [], strict: false };
  const repeated = rules.once.filter((name) => query[name]?.includes(','));
  if (repeated.length > 0) {
    throw new ValidationError(
      repeated.map((name) => ({
        path: name,
        message: 'is given more than once',
        code: 'repeated_parameter',
      })),
    );
  }
  if (rules.strict) return parseOrThrow(schema, query);
  const known = Object.keys(schema.shape);
  const problems: ErrorDetail[] = Object.keys(query)
    .filter((name) => !known.includes(name))
    .map((name) => ({ path: name, message: 'is not a known query parameter', code: 'unknown_field' }));
  const values: Record<string, string> = {};
  for (const name of known) {
    const value = query[name];
    if (value !== undefined) values[name] = value;
  }
  const result = schema.safeParse(values, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      const named = issue.code === 'custom' && typeof issue.params?.code === 'string';
      for (const detail of issuesToDetails([issue])) {
        problems.push(named || detail.code === 'required' ? detail : { ...detail, code: 'invalid' });
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new ValidationError(problems);
  return result.data;
}

/**
 * Reads the headers a route names from a request's (lowercased) headers, keyed as the schema names
 * them (`Idempotency-Key`), and parses them; a bad one is a 422 naming the header.
 */
export function parseHeaders<S extends FieldsSchema>(
  schema: S,
  headers: Readonly<Record<string, string | undefined>>,
): z.output<S> {
  const values: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = headers[name.toLowerCase()];
    if (value !== undefined) values[name] = value;
  }
  return parseOrThrow(schema, values);
}

/**
 * A check that pushes `message` under `code` when `test` fails; `params.code` carries the code into
 * `details` (see issuesToDetails).
 */
export function checked(test: (value: string) => boolean, message: string, code = 'invalid') {
  return z.string().check((ctx) => {
    if (!test(ctx.value)) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message, params: { code } });
    }
  });
}

/**
 * A whole number in a query string, from `min` to `max`: refused as `invalid` with `message` otherwise.
 * Documented as the integer it stands for.
 */
export function wholeNumber(min: number, max: number, message: string) {
  return z.pipe(
    checked((text) => {
      const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
      return value >= min && value <= max;
    }, message),
    z.transform(Number),
  );
}

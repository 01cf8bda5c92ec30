import * as z from 'zod/mini';
import type { ZodOpenApiResponseObject } from 'zod-openapi';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../domain/errors.js';
import { MAX_BODY_BYTES } from '../request.js';
import { errorResponse } from '../responses.js';
import type { ErrorStatus, Example, RouteError } from '../route-definition.js';
import { example, JOB_ID } from '../routes/examples.js';

export const ErrorDetailSchema = z
  .object({
    path: z.string().register(z.globalRegistry, {
      description:
        'Dotted path of the field (`config.retry.max_attempts`, a query parameter or header name); empty for the request as a whole.',
    }),
    message: z.string(),
    code: z.optional(z.string()).register(z.globalRegistry, {
      description:
        'Machine-readable: `required`, `unknown_field`, `invalid`, `invalid_cron`, `unknown_entity`, `missing_parameter`, zod issue codes such as `too_big`, …',
    }),
  })
  .register(z.globalRegistry, { id: 'ErrorDetail', description: 'One problem with one field of a request.' });

/** The body of every error answer (see `errorResponse`). */
export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.array(ErrorDetailSchema) }),
  })
  .register(z.globalRegistry, { id: 'Error', description: 'Every error answer has this shape.' });

/** The body the service answers with for `error`, so the examples show exactly what it sends. */
function errorBody(error: unknown): unknown {
  return JSON.parse(errorResponse(error).body as string);
}

/** An error answer in the shared shape, its example keyed by the error's code. */
function errorAnswer(
  description: string,
  summary: string,
  error: Error,
  headers?: ZodOpenApiResponseObject['headers'],
): ZodOpenApiResponseObject {
  const body = errorBody(error) as { error: { code: string } };
  return {
    description,
    ...(headers && { headers }),
    content: {
      'application/json': { schema: ErrorSchema, examples: { [body.error.code]: example(summary, body) } },
    },
  };
}

/** Each error status's shared answer, with the name it has under `components.responses`. */
const ERROR_RESPONSES: Record<ErrorStatus, [name: string, ZodOpenApiResponseObject]> = {
  400: [
    'BadRequest',
    {
      description:
        'The body is not UTF-8 JSON (`malformed_json`) or not a JSON object (`invalid_body`), or `cursor` was not issued by this service (`invalid_cursor`).',
      content: {
        'application/json': {
          schema: ErrorSchema,
          examples: {
            malformed_json: example(
              'Not JSON',
              errorBody(new BadRequestError('The request body is not valid UTF-8 JSON.', 'malformed_json')),
            ),
            invalid_cursor: example(
              'A cursor this service did not issue',
              errorBody(
                new BadRequestError(
                  'cursor is not a cursor this service issued; pass next_cursor as returned.',
                  'invalid_cursor',
                  [
                    {
                      path: 'cursor',
                      message: 'is not a cursor this service issued',
                      code: 'invalid_cursor',
                    },
                  ],
                ),
              ),
            ),
          },
        },
      },
    },
  ],
  401: [
    'Unauthorized',
    errorAnswer('No API key, or not a valid one.', 'No valid API key', new UnauthorizedError(), {
      'WWW-Authenticate': { description: 'Always `Bearer`.', schema: { type: 'string', const: 'Bearer' } },
    }),
  ],
  403: [
    'Forbidden',
    errorAnswer(
      "The caller's credential is valid, but its scope does not cover this operation; the message and `WWW-Authenticate` name the scope it needs.",
      'A read key on a write',
      new ForbiddenError('admin', 'read'),
      {
        'WWW-Authenticate': {
          description: '`Bearer error="insufficient_scope", scope="<the scope needed>"`.',
          schema: { type: 'string' },
          example: 'Bearer error="insufficient_scope", scope="admin"',
        },
      },
    ),
  ],
  404: [
    'NotFound',
    errorAnswer('Nothing with this id.', 'An unknown job', new NotFoundError(`No job with id "${JOB_ID}".`)),
  ],
  409: [
    'Conflict',
    errorAnswer(
      'The request conflicts with the current state.',
      'A disabled job',
      new ConflictError(`Job ${JOB_ID} is disabled; enable it before triggering it.`),
    ),
  ],
  413: [
    'PayloadTooLarge',
    errorAnswer(
      `The body is larger than ${MAX_BODY_BYTES} bytes.`,
      'Too large',
      new PayloadTooLargeError(MAX_BODY_BYTES),
    ),
  ],
  415: [
    'UnsupportedMediaType',
    errorAnswer(
      'A body whose `Content-Type` is not JSON (`application/json`, or a `+json` type), or a body without one.',
      'Sent as text/plain',
      new UnsupportedMediaTypeError('The request body must be sent as application/json.', [
        { path: 'Content-Type', message: 'must be application/json', code: 'unsupported_media_type' },
      ]),
    ),
  ],
  422: [
    'ValidationFailed',
    errorAnswer(
      'The request is well-formed but invalid; `details` names every bad field.',
      'A cron job without a schedule and an unknown field',
      new ValidationError([
        { path: 'cron_schedule', message: 'is required when trigger_type is "cron"', code: 'required' },
        { path: 'colour', message: 'is not a known field', code: 'unknown_field' },
      ]),
    ),
  ],
  429: [
    'RateLimited',
    errorAnswer(
      "More deliveries than the job's `config.webhook_rate_limit` allows.",
      'Over the limit',
      new RateLimitedError(2),
      {
        'Retry-After': {
          description: 'Seconds to wait before delivering again.',
          schema: { type: 'integer', minimum: 1 },
          example: 2,
        },
      },
    ),
  ],
  500: [
    'InternalError',
    errorAnswer(
      'An unexpected failure; the details are logged, never returned.',
      'Anything unexpected',
      new Error('anything'),
    ),
  ],
};

/** The shared error answers, for `components.responses`. */
export function sharedErrorResponses(): Record<string, ZodOpenApiResponseObject> {
  return Object.fromEntries(Object.values(ERROR_RESPONSES));
}

/** A route's answer for an error status: the shared one, what it means on the route, or its own. */
export function errorResponseOf(
  status: ErrorStatus,
  error: RouteError,
): ZodOpenApiResponseObject | { $ref: string; description?: string } {
  if (typeof error === 'object') {
    const own: Example = example(error.example.summary, errorBody(error.example.error()));
    const code = (own.value as { error: { code: string } }).error.code;
    return {
      description: error.description,
      content: { 'application/json': { schema: ErrorSchema, examples: { [code]: own } } },
    };
  }
  const [name] = ERROR_RESPONSES[status];
  return { $ref: `#/components/responses/${name}`, ...(typeof error === 'string' && { description: error }) };
}

import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { JobsServiceError } from '../domain/errors.js';
import { httpAnswerOf } from './errors-to-http.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number };

const BASE_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** A body that is JSON text already (the committed OpenAPI document), sent byte for byte. */
export function jsonText(statusCode: number, text: string): HttpResponse {
  return { statusCode, headers: { ...BASE_HEADERS }, body: text };
}

export function noContent(): HttpResponse {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}

/**
 * The answer for an error, through the one table (`errors-to-http.ts`): our errors are shown as they
 * are; anything else is a bug and becomes an opaque 500 (the caller logs it).
 */
export function errorResponse(error: unknown): HttpResponse {
  const answer = httpAnswerOf(error);
  if (answer.shown && error instanceof JobsServiceError) {
    return json(
      answer.status,
      { error: { code: error.code, message: error.message, details: error.details } },
      answer.headers,
    );
  }
  return json(500, { error: { code: 'internal_error', message: 'Internal server error.', details: [] } });
}

import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { JobsServiceError, MethodNotAllowedError, UnauthorizedError } from '../domain/errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number };

const BASE_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function noContent(): HttpResponse {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}

/**
 * The one table from errors to HTTP: errors of ours with a status below 500 are shown as they are;
 * anything else is a bug and becomes an opaque 500 (the caller logs it).
 */
export function errorResponse(error: unknown): HttpResponse {
  if (error instanceof JobsServiceError && error.statusCode < 500) {
    const headers: Record<string, string> = {};
    if (error instanceof MethodNotAllowedError) headers.allow = error.allow.join(', ');
    if (error instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
    const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
    return json(
      error.statusCode,
      { error: { code: error.code, message: error.message, details: error.details } },
      headers,
    );
  }
  return json(500, { error: { code: 'internal_error', message: 'Internal server error.', details: [] } });
}

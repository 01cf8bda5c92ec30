import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Logger } from '../ports.js';
import { errorResponse, type HttpResponse } from './responses.js';

type Request = middy.Request<APIGatewayProxyEventV2, HttpResponse>;

/**
 * The HTTP boundary: one access-log line per request, and every error turned into the JSON error
 * shape. Only our own errors below 500 reach the caller as they are; anything else is logged in full
 * and answered with an opaque 500.
 */
export function httpBoundary(logger: Logger): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResponse> {
  const started = new WeakMap<Request, number>();
  const log = (request: Request, statusCode: number) => {
    const http = request.event.requestContext?.http;
    logger.info('request', {
      method: http?.method,
      path: request.event.rawPath,
      statusCode,
      durationMs: Date.now() - (started.get(request) ?? Date.now()),
      requestId: request.event.requestContext?.requestId,
    });
  };
  return {
    before: (request) => {
      started.set(request, Date.now());
    },
    after: (request) => {
      log(request, request.response?.statusCode ?? 200);
    },
    onError: (request) => {
      const response = errorResponse(request.error);
      if (response.statusCode >= 500) {
        logger.error('request failed', {
          error: request.error,
          requestId: request.event.requestContext?.requestId,
        });
      }
      request.response = response;
      log(request, response.statusCode);
    },
  };
}

/**
 * A HEAD request is answered exactly as its GET, status and headers, without the body; `Content-Length`
 * still tells the length of the body a GET gets. Used before `httpBoundary`, so its hooks run after the
 * boundary's and see error answers too.
 */
export function headWithoutBody(): middy.MiddlewareObj<APIGatewayProxyEventV2, HttpResponse> {
  const strip = (request: Request) => {
    const response = request.response;
    if (!response || request.event.requestContext?.http?.method?.toUpperCase() !== 'HEAD') return;
    const body = response.body ?? '';
    const length = response.isBase64Encoded
      ? Buffer.from(body, 'base64').length
      : Buffer.byteLength(body, 'utf8');
    const bodiless = response.statusCode === 204 || response.statusCode === 304;
    request.response = {
      ...response,
      headers: { ...response.headers, ...(!bodiless && { 'content-length': String(length) }) },
      body: '',
      isBase64Encoded: false,
    };
  };
  return { after: strip, onError: strip };
}

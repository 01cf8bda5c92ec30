import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BadRequestError, PayloadTooLargeError } from '../domain/errors.js';

/** Largest request body any route accepts. */
export const MAX_BODY_BYTES = 256 * 1024;

/** What a route sees of an API Gateway v2 event. */
export interface HttpRequest {
  method: string;
  path: string;
  /** Header names lowercased. */
  headers: Readonly<Record<string, string | undefined>>;
  query: Readonly<Record<string, string | undefined>>;
  params: Readonly<Record<string, string>>;
  /** The body exactly as the client sent it; signatures are checked on these bytes. */
  rawBody: Buffer;
  requestId: string;
  /** The public base URL the request came in on (`https://<api domain>`), for links in answers. */
  baseUrl: string;
}

export function toHttpRequest(event: APIGatewayProxyEventV2): Omit<HttpRequest, 'params'> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const body = event.body ?? '';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath || event.requestContext.http.path,
    headers,
    query: { ...event.queryStringParameters },
    rawBody: Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8'),
    requestId: event.requestContext.requestId,
    baseUrl: baseUrlOf(event.requestContext.domainName, headers),
  };
}

/** The body as a JSON object: 413 over the size limit, 400 if it is not JSON or not an object. */
export function readJsonObject(request: Pick<HttpRequest, 'rawBody'>): Record<string, unknown> {
  if (request.rawBody.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  if (request.rawBody.length === 0) {
    throw new BadRequestError('The request body is empty; send a JSON object.', 'invalid_body');
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(request.rawBody));
  } catch {
    throw new BadRequestError('The request body is not valid UTF-8 JSON.', 'malformed_json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('The request body must be a JSON object.', 'invalid_body');
  }
  return value as Record<string, unknown>;
}

/** Bodyless actions (enable, disable) still refuse oversized bodies rather than reading them. */
export function assertBodyWithinLimit(request: Pick<HttpRequest, 'rawBody'>): void {
  if (request.rawBody.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
}

/**
 * API Gateway serves HTTPS only (and says so in X-Forwarded-Proto); the local runtime serves plain
 * HTTP on a loopback address.
 */
function baseUrlOf(domainName: string, headers: Record<string, string | undefined>): string {
  const host = headers.host ?? domainName;
  const loopback = /^(127\.|localhost|\[::1\])/.test(host);
  const proto = headers['x-forwarded-proto'] ?? (loopback ? 'http' : 'https');
  return `${proto === 'http' ? 'http' : 'https'}://${host}`;
}

import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../domain/errors.js';
import { parseJsonObject } from '../domain/json.js';

/** Largest request body any route accepts. */
export const MAX_BODY_BYTES = 256 * 1024;

/** What a route sees of an API Gateway v2 event. */
export interface HttpRequest {
  method: string;
  path: string;
  /** Header names lowercased. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Without a prototype: `__proto__` or `constructor` are parameters like any other. */
  query: Readonly<Record<string, string | undefined>>;
  params: Readonly<Record<string, string>>;
  /** The body exactly as the client sent it; signatures are checked on these bytes. */
  rawBody: Buffer;
  requestId: string;
  /** The public base URL the request came in on (`https://<api domain>`), for links in answers. */
  baseUrl: string;
}

export function toHttpRequest(event: APIGatewayProxyEventV2): Omit<HttpRequest, 'params'> {
  const headers: Record<string, string | undefined> = Object.create(null);
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const body = event.body ?? '';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath || event.requestContext.http.path,
    headers,
    query: queryOf(event.queryStringParameters),
    rawBody: Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8'),
    requestId: event.requestContext.requestId,
    baseUrl: baseUrlOf(event.requestContext.domainName, headers),
  };
}

/**
 * The body as a JSON object: 413 over the size limit, 400 if empty, 415 unless its content type is JSON,
 * 400 if it is not UTF-8 JSON or not an object, 422 naming the field for a string that is not valid
 * UTF-16.
 */
export function readJsonObject(request: Pick<HttpRequest, 'rawBody' | 'headers'>): Record<string, unknown> {
  if (request.rawBody.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  if (request.rawBody.length === 0) {
    throw new BadRequestError('The request body is empty; send a JSON object.', 'invalid_body');
  }
  const contentType = request.headers['content-type'];
  if (!isJsonContentType(contentType)) {
    throw new UnsupportedMediaTypeError(
      contentType === undefined
        ? 'The request has a body but no Content-Type; send it as application/json.'
        : 'The request body must be sent as application/json.',
      [{ path: 'Content-Type', message: 'must be application/json', code: 'unsupported_media_type' }],
    );
  }
  return parseJsonObject(request.rawBody, 'The request body');
}

/** `application/json` or a `+json` type such as `application/merge-patch+json`, with any parameters. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  return mediaType === 'application/json' || /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(mediaType);
}

/** Bodyless actions (enable, disable) still refuse oversized bodies rather than reading them. */
export function assertBodyWithinLimit(request: Pick<HttpRequest, 'rawBody'>): void {
  if (request.rawBody.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
}

/** Query parameters in an object without a prototype, so every name is an own, ordinary key. */
function queryOf(
  parameters: APIGatewayProxyEventV2['queryStringParameters'],
): Record<string, string | undefined> {
  const query: Record<string, string | undefined> = Object.create(null);
  for (const [name, value] of Object.entries(parameters ?? {})) query[name] = value;
  return query;
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

import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, validateHeaderName, validateHeaderValue } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { Logger } from '../../shared/ports.js';

/** A Lambda handler behind an API Gateway HTTP API (payload format 2.0), as `functions/*` export them. */
export type HttpLambdaHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

export interface LocalRoute {
  /** Path prefix served by this handler: `/` for everything, `/webhooks/` for one family of routes. */
  prefix: string;
  handler: HttpLambdaHandler;
  /** Name the Lambda context reports (`functionName`, log group). @default 'serverless-jobs-local' */
  functionName?: string;
  /** The function's timeout; `context.getRemainingTimeInMillis()` counts down from it. @default 30_000 */
  timeoutMs?: number;
  /** Memory size the context reports. @default 1024 */
  memoryLimitInMB?: number;
}

export interface LocalHttpServerOptions {
  logger?: Logger;
  /** Largest request body read into memory; larger requests get a 413 without being buffered. @default 6 MiB */
  maxBodyBytes?: number;
}

export interface LocalHttpServer {
  server: Server;
  /** Starts listening; resolves with the base URL (with the real port when `port` is 0). */
  listen(port: number, host: string): Promise<string>;
  /**
   * Serves `routes` from now on. A server created without routes listens first (so the runtime knows its
   * URL before it builds the handlers) and answers 503 until this is called.
   */
  serve(routes: readonly LocalRoute[]): void;
  /**
   * Stops listening and answers 503 to any request that still arrives on an open connection, waits for
   * the requests being handled (at most a few seconds), then closes every connection.
   */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 5_000;
const LOCAL_ACCOUNT_ID = '000000000000';
const TEXT_CONTENT_TYPE = /^(text\/|application\/(json|x-www-form-urlencoded|xml|[\w.+-]+\+(json|xml))\b)/i;

/**
 * An HTTP server that plays API Gateway (HTTP API, payload 2.0) in front of Lambda handlers: each request
 * becomes a v2 event plus a real Lambda context, and the handler's result becomes the response. The route
 * with the longest matching prefix wins, so the order of `routes` does not matter.
 */
export function createLocalHttpServer(
  routes: readonly LocalRoute[] | null,
  options: LocalHttpServerOptions = {},
): LocalHttpServer {
  const logger = options.logger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const byLongestPrefix = (list: readonly LocalRoute[]) =>
    [...list].sort((a, b) => b.prefix.length - a.prefix.length);
  let served = routes ? byLongestPrefix(routes) : null;
  let closing = false;
  const inFlight = new Set<Promise<void>>();

  const server = createServer((req, res) => {
    const started = Date.now();
    const requestId = randomUUID();
    res.setHeader('apigw-requestid', requestId);
    if (closing || served === null) {
      // Stopping, or still starting: say so rather than take work the runtime would not finish.
      req.resume();
      res.setHeader('connection', 'close');
      const state = closing ? 'stopping' : 'starting';
      writeError(res, 503, 'unavailable', `The service is ${state}; retry in a moment.`, {
        'retry-after': '5',
      });
      return;
    }
    res.on('finish', () => {
      logger?.debug('request', {
        requestId,
        method: req.method,
        path: splitUrl(req.url).path,
        statusCode: res.statusCode,
        durationMs: Date.now() - started,
      });
    });
    const handled = handleRequest(req, res, requestId).catch((error: unknown) => {
      logger?.error('local HTTP server failed to answer a request', { requestId, error });
      if (!res.headersSent) {
        writeError(res, 500, 'internal_error', 'Internal server error.');
      } else {
        res.destroy();
      }
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const { path } = splitUrl(req.url);
    const route = (served ?? []).find((candidate) => matchesPrefix(path, candidate.prefix));
    if (!route) {
      writeError(res, 404, 'not_found', `No route serves ${path}.`);
      return;
    }

    const body = await readBody(req, maxBodyBytes);
    if (body === 'too_large') {
      res.setHeader('connection', 'close');
      writeError(
        res,
        413,
        'payload_too_large',
        `The request body is larger than the limit of ${maxBodyBytes} bytes.`,
      );
      return;
    }
    if (body === 'aborted') return;

    const timeoutMs = route.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const event = toApiGatewayEvent(req, body, { requestId });
    const context = createLambdaContext({
      functionName: route.functionName ?? 'serverless-jobs-local',
      awsRequestId: randomUUID(),
      timeoutMs,
      memoryLimitInMB: route.memoryLimitInMB ?? 1024,
    });

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed_out'>((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout('timed_out'), timeoutMs);
    });
    let result: APIGatewayProxyResultV2 | 'timed_out';
    try {
      result = await Promise.race([route.handler(event, context), timedOut]);
    } catch (error) {
      logger?.error('handler threw', { requestId, awsRequestId: context.awsRequestId, error });
      writeError(res, 500, 'internal_error', 'Internal server error.');
      return;
    } finally {
      clearTimeout(timer);
    }
    if (result === 'timed_out') {
      logger?.error('handler timed out', { requestId, awsRequestId: context.awsRequestId, timeoutMs });
      writeError(res, 504, 'gateway_timeout', `The handler did not answer within ${timeoutMs} ms.`);
      return;
    }
    // Answered while stopping: the client must not send its next request on this connection.
    if (closing) res.setHeader('connection', 'close');
    writeResult(res, result, { head: req.method === 'HEAD' });
  }

  return {
    server,
    listen: (port, host) =>
      new Promise<string>((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.removeListener('error', reject);
          const address = server.address() as AddressInfo;
          const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolveListen(`http://${hostInUrl}:${address.port}`);
        });
      }),
    serve: (list) => {
      served = byLongestPrefix(list);
    },
    close: async () => {
      closing = true;
      if (!server.listening) return;
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      // close() waits for open connections; idle keep-alive ones would hold it forever.
      server.closeIdleConnections();
      let force: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((resolveLater) => {
          force = setTimeout(resolveLater, CLOSE_GRACE_MS);
        }),
      ]);
      clearTimeout(force);
      server.closeAllConnections();
      await closed;
    },
  };
}

function matchesPrefix(path: string, prefix: string): boolean {
  return path.startsWith(prefix) || `${path}/` === prefix;
}

function splitUrl(url: string | undefined): { path: string; query: string } {
  const raw = url ?? '/';
  const mark = raw.indexOf('?');
  return mark === -1 ? { path: raw, query: '' } : { path: raw.slice(0, mark), query: raw.slice(mark + 1) };
}

/** Reads the body, stopping (and discarding the rest) as soon as it exceeds `maxBytes`. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too_large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve('too_large');
  }
  return new Promise((resolveBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeListener('data', onData);
        chunks.length = 0;
        req.resume(); // keep draining so the client can read our 413, without keeping anything
        resolveBody('too_large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolveBody(size > maxBytes ? 'too_large' : Buffer.concat(chunks)));
    req.once('error', () => resolveBody('aborted'));
    req.once('close', () => {
      if (!req.complete) resolveBody('aborted');
    });
  });
}

/**
 * The API Gateway HTTP API (payload format 2.0) event for a request: header names lowercased and
 * duplicates joined with commas, cookies moved to `cookies`, the body passed byte for byte (as text when
 * it is valid UTF-8 of a textual content type, base64 otherwise).
 */
export function toApiGatewayEvent(
  req: IncomingMessage,
  body: Buffer,
  options: { requestId?: string; now?: Date } = {},
): APIGatewayProxyEventV2 {
  const now = options.now ?? new Date();
  const { path, query } = splitUrl(req.url);
  const method = (req.method ?? 'GET').toUpperCase();

  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (!values) continue;
    if (name === 'cookie') {
      cookies = values.flatMap((value) => value.split(';').map((cookie) => cookie.trim())).filter(Boolean);
      continue;
    }
    headers[name] = values.join(',');
  }

  // No prototype: `__proto__`, `constructor` and the like stay ordinary parameters the handler can refuse.
  const queryStringParameters: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(query)) {
    const previous = queryStringParameters[name];
    queryStringParameters[name] = previous === undefined ? value : `${previous},${value}`;
  }

  const host = headers.host ?? 'localhost';
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method,
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: options.requestId ?? randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: formatApiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(queryStringParameters).length > 0) event.queryStringParameters = queryStringParameters;
  if (body.length > 0) {
    const text = isTextContentType(headers['content-type']) ? decodeUtf8Exactly(body) : undefined;
    event.body = text ?? body.toString('base64');
    event.isBase64Encoded = text === undefined;
  }
  return event;
}

function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_CONTENT_TYPE.test(contentType.trim());
}

/** The body as a string if and only if encoding that string gives back exactly these bytes. */
function decodeUtf8Exactly(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestContext.time`: `12/Mar/2020:19:03:58 +0000`. */
function formatApiGatewayTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const day = pad(date.getUTCDate());
  const month = MONTHS[date.getUTCMonth()] ?? 'Jan';
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${day}/${month}/${date.getUTCFullYear()}:${time} +0000`;
}

/**
 * A Lambda context like the one the runtime passes: middy reads `getRemainingTimeInMillis()` for its
 * early-timeout logic, which is skipped entirely without it.
 */
export function createLambdaContext(options: {
  functionName: string;
  awsRequestId: string;
  timeoutMs: number;
  memoryLimitInMB?: number;
}): Context {
  const deadline = Date.now() + options.timeoutMs;
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:${LOCAL_ACCOUNT_ID}:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: options.awsRequestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * Writes a handler's result the way API Gateway does: a structured result as given (cookies become
 * `set-cookie` headers, a base64 body is decoded), anything else as a 200 JSON body. The answer to a
 * HEAD request carries no body, and its `Content-Length` is the handler's or that of the body it left out.
 */
export function writeResult(
  res: ServerResponse,
  result: APIGatewayProxyResultV2,
  options: { head?: boolean } = {},
): void {
  const structured = toStructuredResult(result);
  const statusCode = structured.statusCode ?? 200;
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new Error(`The handler returned an invalid statusCode: ${String(statusCode)}.`);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if ('multiValueHeaders' in structured && isMultiValueHeaders(structured.multiValueHeaders)) {
    for (const [name, values] of Object.entries(structured.multiValueHeaders)) {
      headers[name.toLowerCase()] = values.map(String);
    }
  }
  if (structured.cookies && structured.cookies.length > 0) {
    const existing = headers['set-cookie'];
    const fromHeaders = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    headers['set-cookie'] = [...fromHeaders, ...structured.cookies];
  }
  const body =
    structured.body === undefined
      ? undefined
      : Buffer.from(structured.body, structured.isBase64Encoded ? 'base64' : 'utf8');
  // Validate every header before setting any, so a bad one leaves the response clean for the 500.
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    for (const item of Array.isArray(value) ? value : [value]) validateHeaderValue(name, item);
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.statusCode = statusCode;
  if (options.head) {
    // Node sends no body for HEAD and then leaves Content-Length out unless it is set.
    const bodiless = statusCode === 204 || statusCode === 304;
    if (headers['content-length'] === undefined && !bodiless) {
      res.setHeader('content-length', body?.length ?? 0);
    }
    res.end();
    return;
  }
  res.end(body);
}

function toStructuredResult(result: APIGatewayProxyResultV2): APIGatewayProxyStructuredResultV2 {
  if (typeof result === 'object' && result !== null && typeof result.statusCode === 'number') return result;
  // API Gateway's inference for a result without a statusCode: 200, JSON, the result as the body.
  const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
}

function isMultiValueHeaders(value: unknown): value is Record<string, (string | number | boolean)[]> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((values) => Array.isArray(values))
  );
}

function writeError(
  res: ServerResponse,
  statusCode: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  for (const name of res.getHeaderNames()) {
    if (name !== 'apigw-requestid' && name !== 'connection') res.removeHeader(name);
  }
  res.statusCode = statusCode;
  res.setHeader('content-type', 'application/json');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(JSON.stringify({ error: { code, message, details: [] } }));
}

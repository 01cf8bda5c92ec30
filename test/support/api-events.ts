import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export interface ApiEventInput {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A `Buffer` is sent base64-encoded, as API Gateway sends binary bodies. */
  body?: string | Buffer;
  /** With a string body: the string is already base64 (as API Gateway would pass it). */
  isBase64Encoded?: boolean;
  /**
   * A body goes with `content-type: application/json` unless `headers` name another type; true sends it
   * with none.
   */
  omitContentType?: boolean;
}

let requestCounter = 0;

/** A complete API Gateway HTTP API (payload 2.0) event, as the Lambda integration delivers it. */
export function apiEvent(input: ApiEventInput): APIGatewayProxyEventV2 {
  requestCounter++;
  const requestId = `req-${requestCounter.toString().padStart(6, '0')}`;
  const headers: Record<string, string> = {};
  // API Gateway lowercases header names in payload 2.0.
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
  // As the SDK and most clients do: a JSON body says so.
  if (input.body !== undefined && headers['content-type'] === undefined && !input.omitContentType) {
    headers['content-type'] = 'application/json';
  }
  const isBinary = Buffer.isBuffer(input.body);
  const body = typeof input.body === 'string' ? input.body : input.body?.toString('base64');
  const query = input.query;
  const rawQueryString = query ? new URLSearchParams(query).toString() : '';
  const now = new Date('2025-01-15T12:00:00.000Z');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: input.path,
    rawQueryString,
    headers,
    ...(query && Object.keys(query).length > 0 && { queryStringParameters: { ...query } }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: {
        method: input.method,
        path: input.path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: headers['user-agent'] ?? 'vitest',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: '15/Jan/2025:12:00:00 +0000',
      timeEpoch: now.getTime(),
    },
    ...(body !== undefined && { body }),
    isBase64Encoded: isBinary || input.isBase64Encoded === true,
  };
}

/** A complete Lambda context; middy arms its early-timeout timer from `getRemainingTimeInMillis`. */
export function lambdaContext(remainingMillis = 30_000): Context {
  const deadline = Date.now() + remainingMillis;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'serverless-jobs-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:serverless-jobs-api',
    memoryLimitInMB: '512',
    awsRequestId: `aws-${(++requestCounter).toString().padStart(6, '0')}`,
    logGroupName: '/aws/lambda/serverless-jobs-api',
    logStreamName: '2025/01/15/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 | undefined>;

export interface ApiResult {
  status: number;
  /** Header names lowercased. */
  headers: Record<string, string>;
  /** The raw body text. */
  body: string;
  /** The body parsed as JSON; `undefined` when the body is empty. */
  json: unknown;
}

/** Invokes the handler with a built event and a fresh context, and decodes the response. */
export async function callApi(handler: ApiHandler, input: ApiEventInput): Promise<ApiResult> {
  const response = await handler(apiEvent(input), lambdaContext());
  if (!response) throw new Error(`No response for ${input.method} ${input.path}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  const body = response.isBase64Encoded
    ? Buffer.from(response.body ?? '', 'base64').toString('utf8')
    : (response.body ?? '');
  return {
    status: response.statusCode ?? 200,
    headers,
    body,
    json: body === '' ? undefined : (JSON.parse(body) as unknown),
  };
}

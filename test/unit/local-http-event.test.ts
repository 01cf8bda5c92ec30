import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalHttpServer, type LocalHttpServer } from '../../infra/local/http-server.js';
import { createLogger } from '../../shared/adapters/logger.js';

interface Invocation {
  event: APIGatewayProxyEventV2;
  context: Context;
  remainingAtCall: number;
}

let server: LocalHttpServer;
let baseUrl: string;
let invocations: Invocation[];
let nextResult: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;
const logLines: string[] = [];

const MAX_BODY_BYTES = 64 * 1024;

beforeAll(async () => {
  server = createLocalHttpServer(
    [
      {
        prefix: '/',
        timeoutMs: 5_000,
        handler: async (event, context) => {
          invocations.push({ event, context, remainingAtCall: context.getRemainingTimeInMillis() });
          return nextResult(event);
        },
      },
      {
        prefix: '/webhooks/',
        functionName: 'webhook',
        handler: async () => ({ statusCode: 202, body: 'webhook route' }),
      },
      {
        prefix: '/slow/',
        timeoutMs: 100,
        handler: () => new Promise(() => {}),
      },
    ],
    {
      maxBodyBytes: MAX_BODY_BYTES,
      logger: createLogger({ level: 'debug', sink: (line) => logLines.push(line) }),
    },
  );
  baseUrl = await server.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await server?.close();
});

beforeEach(() => {
  invocations = [];
  nextResult = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' });
});

interface SendOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Send the body in chunks without a content-length. */
  chunked?: boolean;
}

/** A raw HTTP request, so the test controls every byte and header line (fetch would normalise them). */
function send(
  path: string,
  options: SendOptions = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolveResponse, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { method: options.method ?? 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolveResponse({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const [name, value] of Object.entries(options.headers ?? {})) req.setHeader(name, value);
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    if (body && options.chunked) {
      for (let offset = 0; offset < body.length; offset += 8 * 1024)
        req.write(body.subarray(offset, offset + 8 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

function onlyInvocation(): Invocation {
  expect(invocations).toHaveLength(1);
  return invocations[0] as Invocation;
}

describe('local HTTP server: request → API Gateway v2 event', () => {
  it('passes a JSON body byte for byte, spacing and non-ASCII included', async () => {
    // Prepare: spacing JSON.stringify would not produce, and characters outside ASCII
    const raw = Buffer.from('{"name": "Café ☕", "tags": ["a", "b"] ,"n":1.50}', 'utf8');

    // Act
    await send('/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: raw });

    // Assess
    const { event } = onlyInvocation();
    expect(event.isBase64Encoded).toBe(false);
    expect(event.body).toBe(raw.toString('utf8'));
    expect(Buffer.from(event.body ?? '', 'utf8').equals(raw)).toBe(true);
  });

  it('keeps a UTF-8 byte order mark', async () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);

    await send('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });

    const { event } = onlyInvocation();
    expect(event.isBase64Encoded).toBe(false);
    expect(Buffer.from(event.body ?? '', 'utf8').equals(raw)).toBe(true);
  });

  it('base64-encodes binary bodies and text bodies that are not valid UTF-8', async () => {
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41, 0x0a]);
    const latin1Json = Buffer.from('{"name":"Caf\xe9"}', 'latin1');

    await send('/upload', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: binary,
    });
    await send('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: latin1Json,
    });
    await send('/jobs', { method: 'POST', body: Buffer.from('no content type') });

    expect(invocations).toHaveLength(3);
    const [first, second, third] = invocations.map((invocation) => invocation.event);
    expect(first?.isBase64Encoded).toBe(true);
    expect(Buffer.from(first?.body ?? '', 'base64').equals(binary)).toBe(true);
    expect(second?.isBase64Encoded).toBe(true);
    expect(Buffer.from(second?.body ?? '', 'base64').equals(latin1Json)).toBe(true);
    expect(third?.isBase64Encoded).toBe(true);
    expect(Buffer.from(third?.body ?? '', 'base64').toString()).toBe('no content type');
  });

  it('omits the body of a request without one', async () => {
    await send('/jobs');

    const { event } = onlyInvocation();
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('lowercases header names, joins duplicates with commas and moves cookies to `cookies`', async () => {
    await send('/jobs', {
      headers: {
        'X-Request-Source': 'Unit-Test',
        'X-Dup': ['one', 'two'],
        Cookie: 'a=1; b=2',
        'User-Agent': 'local-test/1.0',
      },
    });

    const { event } = onlyInvocation();
    expect(event.headers['x-request-source']).toBe('Unit-Test');
    expect(event.headers['x-dup']).toBe('one,two');
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.headers.cookie).toBeUndefined();
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.requestContext.http.userAgent).toBe('local-test/1.0');
  });

  it('keeps the raw path and query string and parses the parameters, duplicates joined', async () => {
    await send('/jobs?enabled=true&tag=a&tag=b&q=x%20y+z&empty');

    const { event } = onlyInvocation();
    expect(event.rawPath).toBe('/jobs');
    expect(event.rawQueryString).toBe('enabled=true&tag=a&tag=b&q=x%20y+z&empty');
    expect(event.queryStringParameters).toEqual({ enabled: 'true', tag: 'a,b', q: 'x y z', empty: '' });
  });

  it('passes __proto__, constructor and toString as ordinary parameters', async () => {
    await send('/jobs?__proto__=a&constructor=b&toString=c&limit=2');

    const { event } = onlyInvocation();
    const parameters = event.queryStringParameters ?? {};
    expect(Object.keys(parameters)).toEqual(['__proto__', 'constructor', 'toString', 'limit']);
    expect(Object.getOwnPropertyDescriptor(parameters, '__proto__')?.value).toBe('a');
    expect(Object.getOwnPropertyDescriptor(parameters, 'constructor')?.value).toBe('b');
    expect(Object.getOwnPropertyDescriptor(parameters, 'toString')?.value).toBe('c');
  });

  it('omits queryStringParameters and cookies when there are none', async () => {
    await send('/health');

    const { event } = onlyInvocation();
    expect(event.rawQueryString).toBe('');
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.cookies).toBeUndefined();
  });

  it('fills the v2 envelope and the request context', async () => {
    const response = await send('/jobs/job_1', { method: 'DELETE' });

    const { event } = onlyInvocation();
    expect(event).toMatchObject({ version: '2.0', routeKey: '$default' });
    expect(event.requestContext).toMatchObject({
      accountId: expect.any(String),
      apiId: 'local',
      routeKey: '$default',
      stage: '$default',
      http: { method: 'DELETE', path: '/jobs/job_1', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
    });
    expect(event.requestContext.domainName).toBe(new URL(baseUrl).host);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
    expect(response.headers['apigw-requestid']).toBe(event.requestContext.requestId);
  });

  it('passes a real Lambda context whose remaining time counts down from the route timeout', async () => {
    await send('/jobs');

    const { context, remainingAtCall } = onlyInvocation();
    expect(remainingAtCall).toBeGreaterThan(4_000);
    expect(remainingAtCall).toBeLessThanOrEqual(5_000);
    expect(context.functionVersion).toBe('$LATEST');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.invokedFunctionArn).toContain(`function:${context.functionName}`);
    expect(typeof context.callbackWaitsForEmptyEventLoop).toBe('boolean');
    expect(context.logGroupName).toBe(`/aws/lambda/${context.functionName}`);
  });
});

describe('local HTTP server: handler result → response', () => {
  it('writes status, headers and cookies, and decodes a base64 body', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
    nextResult = async () => ({
      statusCode: 201,
      headers: { 'Content-Type': 'image/png', 'X-Count': 3 },
      cookies: ['session=abc; HttpOnly', 'theme=dark'],
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    });

    const response = await send('/image');

    expect(response.status).toBe(201);
    expect(response.headers['content-type']).toBe('image/png');
    expect(response.headers['x-count']).toBe('3');
    expect(response.headers['set-cookie']).toEqual(['session=abc; HttpOnly', 'theme=dark']);
    expect(response.body.equals(bytes)).toBe(true);
  });

  it('answers a result without statusCode as API Gateway does: 200 with the JSON', async () => {
    nextResult = async () => JSON.stringify({ ok: true });

    const response = await send('/jobs');

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body.toString())).toEqual({ ok: true });
  });

  it('answers HEAD without a body, with the handler’s headers and the Content-Length of the body it left out', async () => {
    nextResult = async (event) => ({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-method': event.requestContext.http.method },
      body: '{"jobs":[]}',
    });

    const get = await send('/jobs');
    const head = await send('/jobs', { method: 'HEAD' });
    nextResult = async () => ({
      statusCode: 404,
      headers: { 'content-type': 'application/json', 'content-length': '42' },
      body: '',
    });
    const declared = await send('/jobs/x', { method: 'HEAD' });

    expect(get.headers['content-length']).toBe('11');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe('11');
    expect(head.headers['content-type']).toBe('application/json');
    expect(head.headers['x-method']).toBe('HEAD');
    expect(declared.status).toBe(404);
    expect(declared.headers['content-length']).toBe('42');
    expect(declared.body.length).toBe(0);
  });

  it('turns a throwing handler into a 500 in the JSON error shape and keeps serving', async () => {
    nextResult = async () => {
      throw new Error('boom');
    };

    const failed = await send('/jobs');
    nextResult = async () => ({ statusCode: 204 });
    const next = await send('/jobs');

    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body.toString())).toEqual({
      error: { code: 'internal_error', message: expect.any(String), details: [] },
    });
    expect(failed.body.toString()).not.toContain('boom');
    expect(logLines.some((line) => line.includes('"boom"'))).toBe(true);
    expect(next.status).toBe(204);
  });

  it('answers 500, not a crash, when the handler returns an invalid header', async () => {
    nextResult = async () => ({ statusCode: 200, headers: { 'x-bad': 'line\r\nbreak' }, body: 'x' });

    const response = await send('/jobs');

    expect(response.status).toBe(500);
    expect(response.headers['x-bad']).toBeUndefined();
  });

  it('answers 504 when the handler outlives its timeout', async () => {
    const response = await send('/slow/thing');

    expect(response.status).toBe(504);
    expect(JSON.parse(response.body.toString()).error.code).toBe('gateway_timeout');
  });

  it('routes by the longest matching prefix, whatever the order of the routes', async () => {
    const response = await send('/webhooks/deploy', { method: 'POST', body: '{}' });

    expect(response.status).toBe(202);
    expect(response.body.toString()).toBe('webhook route');
    expect(invocations).toHaveLength(0);
  });
});

describe('local HTTP server: body size cap', () => {
  it.each([
    ['with a content-length', false],
    ['chunked', true],
  ])(
    'answers 413 in the JSON error shape for a body over the cap, %s, without invoking the handler',
    async (_, chunked) => {
      const body = Buffer.alloc(MAX_BODY_BYTES * 4, 0x61);

      const response = await send('/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        chunked,
      });

      expect(response.status).toBe(413);
      expect(JSON.parse(response.body.toString()).error.code).toBe('payload_too_large');
      expect(invocations).toHaveLength(0);
    },
  );

  it('accepts a body exactly at the cap', async () => {
    const body = Buffer.alloc(MAX_BODY_BYTES, 0x61);

    const response = await send('/jobs', { method: 'POST', headers: { 'content-type': 'text/plain' }, body });

    expect(response.status).toBe(200);
    expect(onlyInvocation().event.body).toHaveLength(MAX_BODY_BYTES);
  });
});

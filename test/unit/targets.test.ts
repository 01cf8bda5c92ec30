import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeEchoTarget } from '../../shared/adapters/echo-target.js';
import { invokeHttpTarget, MAX_RESPONSE_BYTES } from '../../shared/adapters/http-target.js';
import { createTargetInvoker, type LambdaInvoker } from '../../shared/adapters/target-invoker.js';
import { capOutput } from '../../shared/app/run-helpers.js';
import type { HttpTarget } from '../../shared/domain/entity.js';
import { type ExecutionRequest, MAX_OUTPUT_BYTES } from '../../shared/domain/execution.js';
import { generateSigningSecret } from '../../shared/domain/signature.js';

interface ReceivedRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface TestServer {
  url: string;
  received: ReceivedRequest[];
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const servers: Array<{ close(): Promise<void> }> = [];

/** A real HTTP server on 127.0.0.1 playing the target; it records each request's raw bytes and headers. */
async function startServer(handler: Handler): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      // The client may hang up first (timeouts, read limits); that is part of what is tested.
      response.on('error', () => undefined);
      handler(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/agent`, received };
}

function reply(status: number, body: string, contentType = 'text/plain'): Handler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': contentType });
    response.end(body);
  };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const CALLBACK_TOKEN = 'cbt_secret-token-value';

function executionRequest(overrides: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return {
    execution_id: 'exec_01J9Z3Q8Y7',
    workflow_id: 'wf_01J9Z3Q8Y7',
    job_id: 'job_5f0c7d2e-8a51-4a4e-9f4f-1c2d3e4f5a6b',
    job_name: 'Nightly report',
    entity: { id: 'agent-uuid', type: 'agent', name: 'Reporter' },
    trigger_type: 'manual',
    prompt: 'Summarise the déploiements of branch feature-x 🚀',
    system_prompt: null,
    parameters: { branch_name: 'feature-x', nested: { depth: 2 } },
    config: { timeout: 60, custom_flag: true },
    metadata: { source: 'test' },
    environment: null,
    attempt: 1,
    deadline_at: '2030-01-01T00:00:00.000Z',
    callback: { url: 'http://127.0.0.1:3000/executions/exec_01J9Z3Q8Y7/callback', token: CALLBACK_TOKEN },
    ...overrides,
  };
}

/** The test servers listen on 127.0.0.1: loopback is allowed as the local runtime allows it. */
const loopbackAllowed = { allowedNetworks: ['loopback'] } as const;

function httpTarget(url: string, timeoutSeconds?: number): HttpTarget {
  return timeoutSeconds === undefined
    ? { type: 'http', url }
    : { type: 'http', url, timeout_seconds: timeoutSeconds };
}

describe('invokeHttpTarget', () => {
  it('POSTs the request as JSON, byte for byte, signed so that the standardwebhooks library verifies it', async () => {
    // Prepare
    const server = await startServer(reply(200, '{"summary":"ok"}', 'application/json'));
    const secret = generateSigningSecret();
    const request = executionRequest();

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), request, {
      ...loopbackAllowed,
      signingSecret: secret,
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: { summary: 'ok' } });
    expect(server.received).toHaveLength(1);
    const [received] = server.received;
    expect(received?.method).toBe('POST');
    expect(received?.url).toBe('/agent');
    expect(received?.body.equals(Buffer.from(JSON.stringify(request), 'utf8'))).toBe(true);
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['user-agent']).toBe('serverless-jobs');
    expect(received?.headers['webhook-id']).toBe(request.execution_id);
    expect(received?.headers['webhook-timestamp']).toMatch(/^\d+$/);
    expect(received?.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const verified = new Webhook(secret).verify(
      received?.body ?? Buffer.alloc(0),
      received?.headers as Record<string, string>,
    );
    expect(verified).toEqual(request);
  });

  it('sends a webhook timestamp taken from the clock, in seconds', async () => {
    // Prepare
    const server = await startServer(reply(200, ''));
    const now = new Date('2030-05-06T07:08:09.999Z');

    // Act
    await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: generateSigningSecret(),
      timeoutMs: 10_000,
      now: () => now,
    });

    // Assess
    expect(server.received[0]?.headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
  });

  it('sends no signature header when the entity has no signing secret', async () => {
    // Prepare
    const server = await startServer(reply(204, ''));

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: null,
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: null });
    expect(server.received[0]?.headers).not.toHaveProperty('webhook-signature');
    expect(server.received[0]?.headers['webhook-id']).toBe('exec_01J9Z3Q8Y7');
  });

  it('does not send anything when the signing secret is unusable', async () => {
    // Prepare
    const server = await startServer(reply(200, 'ok'));

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: 'whsec_not base64!',
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable: false, timedOut: false });
    expect(JSON.stringify(outcome)).not.toContain('not base64');
    expect(server.received).toHaveLength(0);
  });

  it.each([
    [
      'JSON',
      200,
      '{"answer":42,"items":[1,2]}',
      'application/json; charset=utf-8',
      { answer: 42, items: [1, 2] },
    ],
    ['JSON of a +json type', 201, '"done"', 'application/vnd.agent+json', 'done'],
    ['plain text', 200, 'All good', 'text/plain', 'All good'],
    ['text that looks like JSON', 200, '{"a":1}', 'text/plain', '{"a":1}'],
    ['JSON that does not parse', 200, '{"broken":', 'application/json', '{"broken":'],
    ['an empty body', 200, '', 'application/json', null],
  ])('maps a 2xx answer with %s to succeeded', async (_label, status, body, contentType, expected) => {
    // Prepare
    const server = await startServer(reply(status, body, contentType));

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: generateSigningSecret(),
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: expected });
  });

  it('maps 202 to accepted', async () => {
    // Prepare
    const server = await startServer(reply(202, '{"status":"working"}', 'application/json'));

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: generateSigningSecret(),
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'accepted' });
  });

  it.each([
    [400, false],
    [404, false],
    [408, true],
    [429, true],
    [500, true],
    [503, true],
  ])('maps HTTP %i to failed with retryable %s, quoting the status and body', async (status, retryable) => {
    // Prepare
    const server = await startServer(reply(status, `{"detail":"problem ${status}"}`, 'application/json'));
    const secret = generateSigningSecret();

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: secret,
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: `The target answered HTTP ${status}: {"detail":"problem ${status}"}`,
      retryable,
      timedOut: false,
    });
    expect(JSON.stringify(outcome)).not.toContain(secret.slice('whsec_'.length));
  });

  it('quotes at most about 500 characters of an error body', async () => {
    // Prepare
    const server = await startServer(reply(500, 'E'.repeat(200_000)));

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: null,
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable: true });
    const error = outcome.kind === 'failed' ? outcome.error : '';
    expect(error).toContain('HTTP 500');
    expect(error.length).toBeLessThanOrEqual(560);
    expect(error).toContain('E'.repeat(500));
  });

  it('does not follow a redirect (the signed body must not go elsewhere) and fails without retry', async () => {
    // Prepare
    const elsewhere = await startServer(reply(200, 'took it'));
    const server = await startServer((_request, response) => {
      response.writeHead(302, { location: elsewhere.url });
      response.end();
    });

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: generateSigningSecret(),
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: 'The target answered HTTP 302 (redirects are not followed)',
      retryable: false,
      timedOut: false,
    });
    expect(server.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('times out a target that does not answer within the time left', async () => {
    // Prepare
    const server = await startServer(() => {
      // Never answers.
    });

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: generateSigningSecret(),
      timeoutMs: 200,
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: 'The target did not answer within 200 ms.',
      retryable: true,
      timedOut: true,
    });
  });

  it("applies the target's own timeout_seconds when it is shorter than the time left", async () => {
    // Prepare
    const server = await startServer(() => {
      // Never answers.
    });

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url, 1), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: null,
      timeoutMs: 600_000,
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: 'The target did not answer within 1000 ms.',
      retryable: true,
      timedOut: true,
    });
  });

  it('times out a target that sends its headers and then stalls mid-body', async () => {
    // Prepare
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"partial":');
    });

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: null,
      timeoutMs: 300,
    });

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable: true, timedOut: true });
  });

  it('maps a refused connection to a retryable failure that is not a timeout', async () => {
    // Prepare
    const server = await startServer(reply(200, 'ok'));
    const closedUrl = server.url;
    await Promise.all(servers.splice(0).map((s) => s.close()));

    // Act
    const outcome = await invokeHttpTarget(httpTarget(closedUrl), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: generateSigningSecret(),
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable: true, timedOut: false });
    expect(outcome.kind === 'failed' ? outcome.error : '').toContain('ECONNREFUSED');
  });

  it('reads no more of an oversized response body than an output can hold', async () => {
    // Prepare
    const chunk = 'x'.repeat(64 * 1024);
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      // 8 MiB in all, written as the client reads.
      let sent = 0;
      const writeMore = () => {
        while (sent < 128) {
          sent += 1;
          if (!response.write(chunk)) {
            response.once('drain', writeMore);
            return;
          }
        }
        response.end();
      };
      writeMore();
    });

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: null,
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome.kind).toBe('succeeded');
    const output = outcome.kind === 'succeeded' ? outcome.output : null;
    expect(typeof output).toBe('string');
    expect((output as string).length).toBe(MAX_RESPONSE_BYTES);
    // What is read is what an execution can keep: the cut text is longer than the output cap as JSON,
    // so the worker still flags the output as truncated.
    expect(MAX_RESPONSE_BYTES).toBe(MAX_OUTPUT_BYTES);
    expect(capOutput(output).output_truncated).toBe(true);
  });

  it('decodes a body cut at the read limit without a broken character at the end', async () => {
    // Prepare: "é" is two bytes; the limit falls between them.
    const server = await startServer(reply(200, `${'x'.repeat(MAX_RESPONSE_BYTES - 1)}é and more`));

    // Act
    const outcome = await invokeHttpTarget(httpTarget(server.url), executionRequest(), {
      ...loopbackAllowed,
      signingSecret: null,
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: 'x'.repeat(MAX_RESPONSE_BYTES - 1) });
  });
});

describe('invokeEchoTarget', () => {
  it('succeeds with the request as output, without the callback and its token', () => {
    // Prepare
    const request = executionRequest();
    const { callback: _callback, ...expected } = request;

    // Act
    const outcome = invokeEchoTarget(request);

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: expected });
    expect(JSON.stringify(outcome)).not.toContain(CALLBACK_TOKEN);
    expect(request.callback.token).toBe(CALLBACK_TOKEN);
  });
});

describe('createTargetInvoker', () => {
  it('sends http targets to the URL, signed with the given secret', async () => {
    // Prepare
    const server = await startServer(reply(200, 'done'));
    const secret = generateSigningSecret();
    const invoker = createTargetInvoker(loopbackAllowed);

    // Act
    const outcome = await invoker.invoke(httpTarget(server.url), executionRequest(), {
      signingSecret: secret,
      timeoutMs: 10_000,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: 'done' });
    const received = server.received[0];
    expect(
      new Webhook(secret).verify(
        received?.body ?? Buffer.alloc(0),
        received?.headers as Record<string, string>,
      ),
    ).toEqual(executionRequest());
  });

  it('refuses http targets outside public space unless its allowed networks open them', async () => {
    // Prepare
    const server = await startServer(reply(200, 'done'));
    const strict = createTargetInvoker();
    const local = createTargetInvoker({ allowedNetworks: ['loopback'] });

    // Act
    const refused = await strict.invoke(httpTarget(server.url), executionRequest(), {
      signingSecret: null,
      timeoutMs: 10_000,
    });
    const allowed = await local.invoke(httpTarget(server.url), executionRequest(), {
      signingSecret: null,
      timeoutMs: 10_000,
    });

    // Assess
    expect(refused).toMatchObject({ kind: 'failed', retryable: false, timedOut: false });
    expect(refused.kind === 'failed' ? refused.error : '').toContain('a loopback address');
    expect(allowed).toEqual({ kind: 'succeeded', output: 'done' });
    expect(server.received).toHaveLength(1);
  });

  it('resolves http target names with its lookup', async () => {
    // Prepare
    const server = await startServer(reply(200, 'done'));
    const names: string[] = [];
    const invoker = createTargetInvoker({
      allowedNetworks: ['loopback'],
      lookup: (hostname, _options, callback) => {
        names.push(hostname);
        callback(null, [{ address: '127.0.0.1', family: 4 }]);
      },
    });

    // Act
    const outcome = await invoker.invoke(
      httpTarget(server.url.replace('127.0.0.1', 'agent.internal.test')),
      executionRequest(),
      { signingSecret: null, timeoutMs: 10_000 },
    );

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: 'done' });
    expect(names).toEqual(['agent.internal.test']);
  });

  it('answers echo targets itself', async () => {
    // Prepare
    const invoker = createTargetInvoker();
    const request = executionRequest();

    // Act
    const outcome = await invoker.invoke({ type: 'echo' }, request, {
      signingSecret: null,
      timeoutMs: 1_000,
    });

    // Assess
    expect(outcome).toEqual(invokeEchoTarget(request));
    expect(outcome.kind).toBe('succeeded');
  });

  it('hands lambda targets to the Lambda invoker with the time left', async () => {
    // Prepare
    const calls: Array<{ functionName: string; executionId: string; timeoutMs: number }> = [];
    const lambda: LambdaInvoker = {
      async invoke(target, request, options) {
        calls.push({
          functionName: target.function_name,
          executionId: request.execution_id,
          timeoutMs: options.timeoutMs,
        });
        return { kind: 'succeeded', output: 'from lambda' };
      },
    };
    const invoker = createTargetInvoker({ lambda });

    // Act
    const outcome = await invoker.invoke({ type: 'lambda', function_name: 'agent-fn' }, executionRequest(), {
      signingSecret: 'whsec_ignored',
      timeoutMs: 4_321,
    });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: 'from lambda' });
    expect(calls).toEqual([{ functionName: 'agent-fn', executionId: 'exec_01J9Z3Q8Y7', timeoutMs: 4_321 }]);
  });

  it('fails lambda targets without retry where no Lambda invoker is configured', async () => {
    // Prepare
    const invoker = createTargetInvoker();

    // Act
    const outcome = await invoker.invoke({ type: 'lambda', function_name: 'agent-fn' }, executionRequest(), {
      signingSecret: null,
      timeoutMs: 1_000,
    });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error:
        'The lambda target needs AWS: this runtime has no AWS credentials and region to call Lambda with. ' +
        'Start it with AWS_REGION and credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) ' +
        'to run it against your account.',
      retryable: false,
      timedOut: false,
    });
  });
});

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { invokeHttpTarget } from '../../shared/adapters/http-target.js';
import type { ExecutionRequest } from '../../shared/domain/execution.js';
import type { TargetNetwork } from '../../shared/domain/target-network.js';
import type { TargetOutcome } from '../../shared/ports.js';

/** What an internal service would answer: it must never reach a run's output or error. */
const SECRET_ANSWER = 'AccessKeyId=ASIA-internal-credentials';

interface InternalServer {
  port: number;
  url: string;
  /** TCP connections accepted (a refused target opens none). */
  connections: number;
  /** HTTP requests received. */
  requests: number;
}

const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A real server on 127.0.0.1 playing an internal service; it answers `answer` (default: the secret). */
async function startInternalServer(answer?: (response: ServerResponse) => void): Promise<InternalServer> {
  const state = { connections: 0, requests: 0 };
  const server = createServer((request, response) => {
    state.requests += 1;
    request.resume();
    request.on('end', () => {
      if (answer) answer(response);
      else {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(SECRET_ANSWER);
      }
    });
  });
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return Object.defineProperties({ port, url: `http://127.0.0.1:${port}/run` } as InternalServer, {
    connections: { get: () => state.connections },
    requests: { get: () => state.requests },
  });
}

/** A resolver that knows a few names and records every name it is asked for: no DNS involved. */
function fakeResolver(names: Record<string, string[]>): { lookup: LookupFunction; asked: string[] } {
  const asked: string[] = [];
  const lookup: LookupFunction = (hostname, options, callback) => {
    asked.push(hostname);
    const addresses = (names[hostname] ?? []).map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
    }));
    if (addresses.length === 0) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
    } else if (options.all) callback(null, addresses);
    else callback(null, addresses[0]?.address ?? '', addresses[0]?.family);
  };
  return { lookup, asked };
}

function executionRequest(): ExecutionRequest {
  return {
    execution_id: 'exec_01J9Z3Q8Y7',
    workflow_id: 'wf_01J9Z3Q8Y7',
    job_id: 'job_5f0c7d2e-8a51-4a4e-9f4f-1c2d3e4f5a6b',
    job_name: 'Nightly report',
    entity: { id: 'agent-uuid', type: 'agent', name: 'Reporter' },
    trigger_type: 'manual',
    prompt: 'Report',
    system_prompt: null,
    parameters: {},
    config: {},
    metadata: {},
    environment: null,
    attempt: 1,
    deadline_at: '2030-01-01T00:00:00.000Z',
    callback: { url: 'http://127.0.0.1:3000/executions/exec_01J9Z3Q8Y7/callback', token: 'cbt_token' },
  };
}

function call(
  url: string,
  allowedNetworks: readonly TargetNetwork[],
  lookup?: LookupFunction,
): Promise<TargetOutcome> {
  return invokeHttpTarget({ type: 'http', url }, executionRequest(), {
    signingSecret: null,
    timeoutMs: 10_000,
    allowedNetworks,
    ...(lookup && { lookup }),
  });
}

function refusedWith(error: string): TargetOutcome {
  return { kind: 'failed', error, retryable: false, timedOut: false };
}

const LOOPBACK_CLOSED =
  'which this deployment does not allow (its allowedTargetNetworks setting does not include "loopback")';

describe('http targets on loopback', () => {
  it('are called when the deployment allows loopback', async () => {
    // Prepare
    const server = await startInternalServer((response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });

    // Act
    const outcome = await call(server.url, ['loopback']);

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: { ok: true } });
    expect(server.requests).toBe(1);
  });

  it('are refused without a connection, and without retry, when it does not', async () => {
    // Prepare
    const server = await startInternalServer();

    // Act
    const outcome = await call(server.url, ['private']);

    // Assess
    expect(outcome).toEqual(
      refusedWith(`Refused to call the target at 127.0.0.1, a loopback address, ${LOOPBACK_CLOSED}.`),
    );
    expect(server.connections).toBe(0);
  });

  it.each([
    ['decimal', (port: number) => `http://2130706433:${port}/run`],
    ['hexadecimal', (port: number) => `http://0x7f000001:${port}/run`],
    ['octal', (port: number) => `http://0177.0.0.1:${port}/run`],
    ['short', (port: number) => `http://127.1:${port}/run`],
    ['IPv4-mapped IPv6', (port: number) => `http://[::ffff:127.0.0.1]:${port}/run`],
    ['IPv6', (port: number) => `http://[::1]:${port}/run`],
  ])('are refused in %s notation too', async (_notation, url) => {
    // Prepare
    const server = await startInternalServer();

    // Act
    const outcome = await call(url(server.port), []);

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable: false, timedOut: false });
    expect(outcome.kind === 'failed' ? outcome.error : '').toMatch(
      /^Refused to call the target at .*, a loopback address, /,
    );
    expect(server.connections).toBe(0);
  });
});

describe('http targets whose name resolves to a refused address', () => {
  it('are refused before connecting, naming the name, the address and its class', async () => {
    // Prepare
    const server = await startInternalServer();
    const { lookup, asked } = fakeResolver({ 'agent.internal.test': ['127.0.0.1'] });

    // Act
    const outcome = await call(`http://agent.internal.test:${server.port}/run`, [], lookup);

    // Assess
    expect(outcome).toEqual(
      refusedWith(
        `Refused to call the target: agent.internal.test resolved to 127.0.0.1, a loopback address, ${LOOPBACK_CLOSED}.`,
      ),
    );
    expect(asked).toEqual(['agent.internal.test']);
    expect(server.connections).toBe(0);
    expect(JSON.stringify(outcome)).not.toContain(SECRET_ANSWER);
  });

  it('are called when the address they resolve to is allowed', async () => {
    // Prepare
    const server = await startInternalServer((response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('from the agent');
    });
    const { lookup } = fakeResolver({ 'agent.internal.test': ['127.0.0.1'] });

    // Act
    const outcome = await call(`http://agent.internal.test:${server.port}/run`, ['loopback'], lookup);

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: 'from the agent' });
    expect(server.requests).toBe(1);
  });

  it('resolve with the system resolver by default: localhost is loopback', async () => {
    // Prepare: `localhost` comes from the hosts file, so no DNS server is needed.
    const server = await startInternalServer();

    // Act
    const outcome = await call(`http://localhost:${server.port}/run`, []);

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable: false, timedOut: false });
    expect(outcome.kind === 'failed' ? outcome.error : '').toMatch(
      /^Refused to call the target: localhost resolved to (127\.0\.0\.1|::1), a loopback address, /,
    );
    expect(server.connections).toBe(0);
  });

  it('are refused when any of their addresses is, whatever the order of the answer', async () => {
    // Prepare: a public address first, the metadata service second.
    const server = await startInternalServer();
    const { lookup } = fakeResolver({ 'rebind.test': ['93.184.215.14', '169.254.169.254'] });

    // Act
    const outcome = await call(`http://rebind.test:${server.port}/run`, ['loopback', 'private'], lookup);

    // Assess
    expect(outcome).toEqual(
      refusedWith(
        'Refused to call the target: rebind.test resolved to 169.254.169.254, a cloud metadata address, which http targets may never reach.',
      ),
    );
  });

  it.each([
    ['169.254.169.254', 'a cloud metadata address'],
    ['fd00:ec2::254', 'a cloud metadata address'],
    ['::ffff:169.254.169.254', 'a cloud metadata address'],
    ['fe80::1', 'a link-local address'],
    ['0.0.0.0', 'an unspecified address'],
  ])('are refused for %s (%s) even with every network allowed', async (address, description) => {
    // Prepare
    const { lookup } = fakeResolver({ 'metadata.test': [address] });

    // Act
    const outcome = await call('http://metadata.test/latest/meta-data/', ['loopback', 'private'], lookup);

    // Assess
    expect(outcome).toEqual(
      refusedWith(
        `Refused to call the target: metadata.test resolved to ${address}, ${description}, which http targets may never reach.`,
      ),
    );
  });

  it('still fail as network errors, retryable, when the name does not resolve', async () => {
    // Prepare
    const { lookup } = fakeResolver({});

    // Act
    const outcome = await call('http://missing.test/run', [], lookup);

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: 'Request to the target failed: getaddrinfo ENOTFOUND missing.test',
      retryable: true,
      timedOut: false,
    });
  });
});

describe('http targets at literal addresses never allowed', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254, a cloud metadata address'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'fd00:ec2::254, a cloud metadata address'],
    ['http://100.100.100.200/latest/meta-data/', '100.100.100.200, a cloud metadata address'],
    ['http://2852039166/latest/meta-data/', '169.254.169.254, a cloud metadata address'],
    ['http://[::ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe, a cloud metadata address'],
    ['http://0.0.0.0:8080/', '0.0.0.0, an unspecified address'],
    ['http://[fe80::1]/', 'fe80::1, a link-local address'],
  ])('refuses %s', async (url, described) => {
    // Prepare
    const { lookup, asked } = fakeResolver({});

    // Act
    const outcome = await call(url, ['loopback', 'private'], lookup);

    // Assess
    expect(outcome).toEqual(
      refusedWith(`Refused to call the target at ${described}, which http targets may never reach.`),
    );
    expect(asked).toEqual([]);
  });
});

describe('redirects towards refused addresses', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://metadata.test/computeMetadata/v1/',
  ])('are not followed (%s): no lookup, no request, no trace of an answer', async (location) => {
    // Prepare
    const metadata = await startInternalServer();
    const { lookup, asked } = fakeResolver({ 'metadata.test': ['127.0.0.1'] });
    const redirecting = await startInternalServer((response) => {
      response.writeHead(307, {
        location: location.replace('metadata.test', `metadata.test:${metadata.port}`),
      });
      response.end();
    });

    // Act
    const outcome = await call(redirecting.url, ['loopback'], lookup);

    // Assess
    expect(outcome).toEqual(refusedWith('The target answered HTTP 307 (redirects are not followed)'));
    expect(redirecting.requests).toBe(1);
    expect(asked).toEqual([]);
    expect(metadata.connections).toBe(0);
  });
});

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/run.js';
import { ControlPlaneClient } from '../../sdk/index.js';
import {
  canonicalRequest,
  type ReceivedRequest,
  stringToSign,
  verifySigV4,
} from '../support/sigv4-verifier.js';

/*
 * The SDK and the CLI sign requests with SigV4 as API Gateway checks them: a real HTTP server receives
 * what they send and a verifier written from the published algorithm, itself checked against AWS's
 * published test-suite vectors, accepts it.
 */

// ── The verifier, against the published test suite ─────────────────────────────────────────────────

const SUITE = {
  accessKeyId: 'AKIDEXAMPLE',
  secret: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  service: 'service',
  now: new Date('2015-08-30T12:36:00Z'),
};
const suiteAuthorization = (signature: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`;
const suiteRequest = (method: string, query: [string, string][], signature: string): ReceivedRequest => ({
  method,
  path: '/',
  query,
  headers: {
    Host: 'example.amazonaws.com',
    'X-Amz-Date': '20150830T123600Z',
    Authorization: suiteAuthorization(signature),
  },
  body: Buffer.alloc(0),
});
const suiteOptions = {
  secretOf: (id: string) => (id === SUITE.accessKeyId ? SUITE.secret : undefined),
  region: SUITE.region,
  service: SUITE.service,
  now: SUITE.now,
};

describe('the SigV4 verifier', () => {
  it('builds get-vanilla’s canonical request and string to sign as the suite publishes them', () => {
    // Prepare
    const request = suiteRequest('GET', [], '');

    // Act
    const canonical = canonicalRequest(request, ['host', 'x-amz-date']);
    const toSign = stringToSign(canonical, '20150830T123600Z', '20150830/us-east-1/service/aws4_request');

    // Assess
    expect(canonical).toBe(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(toSign).toBe(
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    );
  });

  it.each([
    ['get-vanilla', 'GET', [], '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['post-vanilla', 'POST', [], '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
    [
      'get-vanilla-query-order-key-case',
      'GET',
      [
        ['Param2', 'value2'],
        ['Param1', 'value1'],
      ],
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    ],
  ] as [string, string, [string, string][], string][])(
    'accepts the suite’s %s and refuses it altered',
    (_name, method, query, signature) => {
      // Act
      const verdict = verifySigV4(suiteRequest(method, query, signature), suiteOptions);
      const otherMethod = verifySigV4(
        suiteRequest(method === 'GET' ? 'POST' : 'GET', query, signature),
        suiteOptions,
      );
      const withBody = verifySigV4(
        { ...suiteRequest(method, query, signature), body: Buffer.from('x') },
        suiteOptions,
      );
      const otherQuery = verifySigV4(
        suiteRequest(method, [...query, ['Param3', 'v']], signature),
        suiteOptions,
      );

      // Assess
      expect(verdict).toMatchObject({ valid: true, accessKeyId: 'AKIDEXAMPLE' });
      for (const altered of [otherMethod, withBody, otherQuery]) {
        expect(altered).toEqual({ valid: false, reason: 'signature does not match' });
      }
    },
  );

  it('refuses a signature by an unknown key, for another region, or too old', () => {
    // Prepare
    const request = suiteRequest(
      'GET',
      [],
      '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );

    // Act
    const unknownKey = verifySigV4(request, { ...suiteOptions, secretOf: () => undefined });
    const otherRegion = verifySigV4(request, { ...suiteOptions, region: 'eu-west-1' });
    const late = verifySigV4(request, { ...suiteOptions, now: new Date('2015-08-30T12:52:00Z') });

    // Assess
    expect([unknownKey, otherRegion, late].map((verdict) => verdict.valid)).toEqual([false, false, false]);
  });
});

// ── The SDK and the CLI, against a server that verifies ──────────────────────────────────────────────

const KEY = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const SESSION = { ...KEY, sessionToken: 'FwoGZXIvYXdzEXAMPLEsessiontoken' };
const REGION = 'eu-west-1';

let server: Server;
let baseUrl: string;
const received: ReceivedRequest[] = [];

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://placeholder');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    received.push({
      method: request.method ?? 'GET',
      path: url.pathname,
      query: [...url.searchParams],
      headers,
      body: await readBody(request),
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(url.pathname === '/jobs' ? { jobs: [], next_cursor: null } : { id: 'x' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  received.length = 0;
  vi.unstubAllEnvs();
});

const verify = (request: ReceivedRequest | undefined, secret = KEY.secretAccessKey) =>
  verifySigV4(request as ReceivedRequest, {
    secretOf: (id) => (id === KEY.accessKeyId ? secret : undefined),
    region: REGION,
    service: 'execute-api',
    now: new Date(),
  });

describe('the SDK with auth { type: "iam" }', () => {
  it('signs reads and writes, query, body and an encoded path included, with the session token', async () => {
    // Prepare
    const client = new ControlPlaneClient({
      baseUrl,
      auth: { type: 'iam', region: REGION, credentials: SESSION },
    });

    // Act
    await client.jobs.listPage({ limit: 5, enabled: true });
    await client.jobs.create({ name: 'signed', trigger_type: 'manual', prompt_template: 'x' });
    await client.entities.get('agent one');

    // Assess
    expect(received.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /jobs',
      'POST /jobs',
      'GET /entities/agent%20one',
    ]);
    for (const request of received) {
      expect(verify(request)).toMatchObject({ valid: true, sessionToken: SESSION.sessionToken });
      expect(request.headers.authorization).not.toMatch(/^Bearer/);
    }
    expect(verify(received[1], 'another secret')).toEqual({
      valid: false,
      reason: 'signature does not match',
    });
  });

  it('takes its credentials and region from the standard chain (here, the environment)', async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', KEY.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', KEY.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('JOBS_AUTH', 'iam');
    vi.stubEnv('JOBS_API_KEY', '');
    const client = new ControlPlaneClient({ baseUrl });

    // Act
    await client.jobs.listPage();

    // Assess
    expect(verify(received[0])).toMatchObject({ valid: true, accessKeyId: KEY.accessKeyId });
  });

  it('sends health checks unsigned, and fails clearly without a region', async () => {
    // Prepare
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    const client = new ControlPlaneClient({ baseUrl, auth: { type: 'iam', credentials: KEY } });

    // Act
    await client.health();
    const list = client.jobs.listPage();

    // Assess
    expect(received[0]?.headers.authorization).toBeUndefined();
    await expect(list).rejects.toMatchObject({
      code: 'not_configured',
      message: expect.stringMatching(/region/),
    });
  });
});

describe('the CLI with --auth iam', () => {
  it.each([
    ['--auth iam', ['--auth', 'iam'], {}],
    ['JOBS_AUTH=iam', [], { JOBS_AUTH: 'iam' }],
  ])('signs with %s and the credential chain, no API key needed', async (_label, flags, env) => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', KEY.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', KEY.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    let stderr = '';

    // Act
    const code = await run(['list', ...flags, '--json'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env: { JOBS_API_URL: baseUrl, AWS_REGION: REGION, ...env },
      cwd: tmpdir(),
      sleep: async () => {},
    });

    // Assess
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(verify(received[0])).toMatchObject({ valid: true, accessKeyId: KEY.accessKeyId });
  });

  it('refuses an unknown --auth before sending anything', async () => {
    // Prepare
    let stderr = '';

    // Act
    const code = await run(['list', '--auth', 'kerberos'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env: { JOBS_API_URL: baseUrl },
      cwd: tmpdir(),
      sleep: async () => {},
    });

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/--auth \(or JOBS_AUTH\) must be "api-key" or "iam"/);
    expect(received).toEqual([]);
  });
});

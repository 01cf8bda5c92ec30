import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../cli/run.js';
import type { NotificationChannel } from '../../sdk/index.js';

/*
 * `jobs channels …` against a fake service: the request each command sends and what it prints. The
 * same calls reach the real routes through the SDK in test/e2e/alerts.test.ts.
 */

const API_URL = 'http://jobs.test';
const API_KEY = 'sjk_channels-test-key';
const ID = 'nch_0m5xy3k0w0123456789abcdef';

interface SentRequest {
  method: string;
  url: string;
  body: unknown;
}

type Answer = { status: number; body?: unknown };

/** Runs the CLI against a service answering with `handle`; returns the exit code, output and requests. */
async function channels(argv: string[], handle: (request: SentRequest) => Answer, cwd = tmpdir()) {
  let stdout = '';
  let stderr = '';
  const requests: SentRequest[] = [];
  const code = await run(['channels', ...argv], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { JOBS_API_URL: API_URL, JOBS_API_KEY: API_KEY },
    cwd,
    sleep: async () => {},
    fetch: async (input, init) => {
      const body = init?.body;
      const request = {
        method: init?.method ?? 'GET',
        url: String(input),
        body: typeof body === 'string' ? JSON.parse(body) : undefined,
      };
      requests.push(request);
      const answer = handle(request);
      return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
  return { code, stdout, stderr, requests };
}

function channel(overrides: Partial<NotificationChannel> = {}): NotificationChannel {
  return {
    id: ID,
    name: 'On-call',
    type: 'webhook',
    url: 'https://hooks.example.com/alerts',
    topic_arn: null,
    events: ['job.failing', 'job.paused'],
    default: true,
    created_at: '2027-03-01T08:00:00.000Z',
    updated_at: '2027-03-01T08:00:00.000Z',
    last_delivery_at: '2027-03-02T02:05:12.000Z',
    last_delivery_status: 'delivered',
    last_delivery_error: null,
    consecutive_delivery_failures: 0,
    ...overrides,
  };
}

let workDir: string | undefined;

afterEach(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
  workDir = undefined;
});

describe('jobs channels create', () => {
  it('sends the options as the channel and prints its signing secret once, saying it is not shown again', async () => {
    // Act
    const result = await channels(
      [
        'create',
        '--name',
        'On-call',
        '--webhook-url',
        'https://hooks.example.com/alerts',
        '--event',
        'job.failing',
      ],
      () => ({ status: 201, body: { ...channel(), signing_secret: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5' } }),
    );

    // Assess
    expect(result.code).toBe(0);
    expect(result.requests).toEqual([
      {
        method: 'POST',
        url: `${API_URL}/notification-channels`,
        body: {
          name: 'On-call',
          type: 'webhook',
          url: 'https://hooks.example.com/alerts',
          events: ['job.failing'],
        },
      },
    ]);
    expect(result.stdout).toMatch(/^Created notification channel nch_0m5xy3k0w0123456789abcdef\.\n/);
    expect(result.stdout).toMatch(/^signing_secret +whsec_c2VjcmV0LXNpZ25pbmcta2V5$/m);
    expect(result.stdout).toContain('signing_secret is shown only in this answer and cannot be read again');
    expect(result.stdout.split('whsec_').length - 1).toBe(1);
  });

  it('reads a JSON file and lets options replace its fields (an sns channel, the default)', async () => {
    // Prepare
    workDir = await mkdtemp(join(tmpdir(), 'cli-channels-'));
    await writeFile(
      join(workDir, 'channel.json'),
      JSON.stringify({ name: 'From file', type: 'sns', topic_arn: 'arn:aws:sns:us-east-1:123456789012:a' }),
    );

    // Act
    const result = await channels(
      ['create', '-f', 'channel.json', '--name', 'Ops', '--default', '--json'],
      () => ({ status: 201, body: channel({ type: 'sns', url: null }) }),
      workDir,
    );

    // Assess
    expect(result.code).toBe(0);
    expect(result.requests[0]?.body).toEqual({
      name: 'Ops',
      type: 'sns',
      topic_arn: 'arn:aws:sns:us-east-1:123456789012:a',
      default: true,
    });
    expect(JSON.parse(result.stdout)).toMatchObject({ id: ID, type: 'sns' });
  });

  it('without a name is a usage error and sends nothing', async () => {
    // Act
    const result = await channels(['create', '--webhook-url', 'https://a.test'], () => {
      throw new Error('nothing should be sent');
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: --name is required');
    expect(result.requests).toEqual([]);
  });

  it('prints a refused field on one line naming its path, and exits 1', async () => {
    // Act
    const result = await channels(
      ['create', '--name', 'x', '--webhook-url', 'http://169.254.169.254/'],
      () => ({
        status: 422,
        body: {
          error: {
            code: 'validation_failed',
            message: 'Invalid request.',
            details: [
              { path: 'url', message: 'points at a link-local address', code: 'target_address_not_allowed' },
            ],
          },
        },
      }),
    );

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: 422 validation_failed: url: points at a link-local address\n');
  });
});

describe('jobs channels list, get, update, delete and test', () => {
  it('lists channels as a table with their destination, events and last delivery', async () => {
    // Act
    const result = await channels(['list'], () => ({
      status: 200,
      body: {
        channels: [
          channel(),
          channel({
            id: 'nch_0m5xy3k0w0fedcba987654321',
            name: 'Everything',
            events: null,
            default: false,
            last_delivery_at: '2027-03-02T03:00:00.000Z',
            last_delivery_status: 'failed',
            last_delivery_error: 'HTTP 503',
            consecutive_delivery_failures: 3,
          }),
        ],
        next_cursor: null,
      },
    }));

    // Assess
    expect(result.code).toBe(0);
    expect(result.requests.map((request) => request.url)).toEqual([
      `${API_URL}/notification-channels?limit=100`,
    ]);
    expect(result.stdout.split('\n')).toEqual([
      'ID                             NAME        TYPE     DESTINATION                       EVENTS                  DEFAULT  LAST DELIVERY                   FAILURES',
      'nch_0m5xy3k0w0123456789abcdef  On-call     webhook  https://hooks.example.com/alerts  job.failing,job.paused  yes      delivered 2027-03-02T02:05:12Z  0',
      'nch_0m5xy3k0w0fedcba987654321  Everything  webhook  https://hooks.example.com/alerts  all                              failed 2027-03-02T03:00:00Z     3',
      '',
    ]);
  });

  it('says so when there are none', async () => {
    // Act
    const result = await channels(['list'], () => ({
      status: 200,
      body: { channels: [], next_cursor: null },
    }));

    // Assess
    expect(result.stdout).toBe('No notification channels.\n');
  });

  it('gets one channel, updates it with --set, and deletes it', async () => {
    // Prepare
    const answers: Answer[] = [
      { status: 200, body: channel() },
      { status: 200, body: channel({ name: 'Renamed', events: null }) },
      { status: 204 },
    ];

    // Act
    const got = await channels(['get', ID], () => answers[0] as Answer);
    const updated = await channels(
      ['update', ID, '--set', 'name=Renamed', '--set', 'events:=null'],
      () => answers[1] as Answer,
    );
    const deleted = await channels(['delete', ID], () => answers[2] as Answer);

    // Assess
    expect([got.code, updated.code, deleted.code]).toEqual([0, 0, 0]);
    expect(got.requests).toEqual([
      { method: 'GET', url: `${API_URL}/notification-channels/${ID}`, body: undefined },
    ]);
    expect(got.stdout).toMatch(/^url +https:\/\/hooks\.example\.com\/alerts$/m);
    expect(updated.requests).toEqual([
      {
        method: 'PATCH',
        url: `${API_URL}/notification-channels/${ID}`,
        body: { name: 'Renamed', events: null },
      },
    ]);
    expect(updated.stdout).toMatch(/^Updated notification channel nch_\w+\.\n/);
    expect(updated.stdout).not.toContain('signing_secret');
    expect(deleted.requests[0]?.method).toBe('DELETE');
    expect(deleted.stdout).toBe(`Deleted notification channel ${ID}.\n`);
  });

  it('test exits 0 when the receiver accepted the event, 1 with its error when it did not', async () => {
    // Act
    const delivered = await channels(['test', ID], () => ({
      status: 200,
      body: { event_id: 'evt_1', delivered: true, status: 'delivered', error: null },
    }));
    const refused = await channels(['test', ID], () => ({
      status: 200,
      body: { event_id: 'evt_2', delivered: false, status: 'failed', error: 'HTTP 503' },
    }));

    // Assess
    expect(delivered.requests).toEqual([
      { method: 'POST', url: `${API_URL}/notification-channels/${ID}/test`, body: undefined },
    ]);
    expect([delivered.code, delivered.stdout]).toEqual([0, `Delivered test event evt_1 to ${ID}.\n`]);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      `Test event evt_2 was not delivered to ${ID}: HTTP 503\n`,
    ]);
  });

  it.each([['list'], ['get'], ['create'], ['update'], ['delete'], ['test']])(
    'jobs channels %s --help shows its usage and an example, and exits 0',
    async (name) => {
      // Act
      const result = await channels([name, '--help'], () => {
        throw new Error('nothing should be sent');
      });

      // Assess
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: jobs channels ${name}`));
      expect(result.stdout).toMatch(/\nExamples?:\n {2}jobs channels /);
    },
  );

  it('shows the group with "jobs channels --help"', async () => {
    // Act
    const result = await channels(['--help'], () => {
      throw new Error('nothing should be sent');
    });

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: jobs channels <list|get|create|update|delete|test> [options]');
  });
});

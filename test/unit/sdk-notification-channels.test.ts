import { describe, expect, it } from 'vitest';
import { ControlPlaneClient, NotFoundError, ServerError } from '../../sdk/index.js';

/*
 * client.notificationChannels: the request each method sends (method, path, query, body, credential)
 * and which calls are retried. The same calls against the local runtime are in test/e2e/alerts.test.ts.
 */

const BASE_URL = 'https://jobs.example.test';
const API_KEY = 'sk_test_channels';
const CHANNEL_ID = 'nch_0m5xy3k0w0123456789abcdef';

interface SentRequest {
  method: string;
  url: string;
  authorization: string | null;
  body: unknown;
}

/** A client whose `fetch` answers with `replies` in order (the last repeats) and records each request. */
function clientWith(replies: (() => Response)[]) {
  const sent: SentRequest[] = [];
  const client = new ControlPlaneClient({
    baseUrl: BASE_URL,
    apiKey: API_KEY,
    sleep: async () => {},
    fetch: async (input, init) => {
      const body = init?.body;
      sent.push({
        method: init?.method ?? 'GET',
        url: String(input),
        authorization: new Headers(init?.headers).get('authorization'),
        body: typeof body === 'string' ? JSON.parse(body) : undefined,
      });
      const reply = replies[Math.min(sent.length - 1, replies.length - 1)];
      if (!reply) throw new Error('The test scripted no reply.');
      return reply();
    },
  });
  return { client, sent };
}

const json = (status: number, body: unknown) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const noContent = () => new Response(null, { status: 204 });
const apiError = (status: number, code: string) =>
  json(status, { error: { code, message: `${code} happened`, details: [] } });

const CHANNEL = {
  id: CHANNEL_ID,
  name: 'On-call',
  type: 'webhook',
  url: 'https://hooks.example.com/alerts',
  topic_arn: null,
  events: null,
  default: false,
  created_at: '2027-03-01T00:00:00.000Z',
  updated_at: '2027-03-01T00:00:00.000Z',
  last_delivery_at: null,
  last_delivery_status: null,
  last_delivery_error: null,
  consecutive_delivery_failures: 0,
};

describe('client.notificationChannels: the request each method sends', () => {
  it('create POSTs the body with the key and returns the channel with its secret', async () => {
    // Prepare
    const { client, sent } = clientWith([json(201, { ...CHANNEL, signing_secret: 'whsec_abc' })]);

    // Act
    const created = await client.notificationChannels.create({
      name: 'On-call',
      type: 'webhook',
      url: 'https://hooks.example.com/alerts',
      events: ['job.failing'],
    });

    // Assess
    expect(sent).toEqual([
      {
        method: 'POST',
        url: `${BASE_URL}/notification-channels`,
        authorization: `Bearer ${API_KEY}`,
        body: {
          name: 'On-call',
          type: 'webhook',
          url: 'https://hooks.example.com/alerts',
          events: ['job.failing'],
        },
      },
    ]);
    expect(created.signing_secret).toBe('whsec_abc');
  });

  it('get, update, delete and test address the channel by its encoded id', async () => {
    // Prepare
    const { client, sent } = clientWith([
      json(200, CHANNEL),
      json(200, { ...CHANNEL, default: true }),
      json(200, { event_id: 'evt_1', delivered: true, status: 'delivered', error: null }),
      noContent,
    ]);

    // Act
    const fetched = await client.notificationChannels.get(CHANNEL_ID);
    const updated = await client.notificationChannels.update(CHANNEL_ID, { default: true, events: null });
    const tested = await client.notificationChannels.test(CHANNEL_ID);
    const deleted = await client.notificationChannels.delete('nch_../x');

    // Assess
    expect(sent.map(({ method, url, body }) => [method, url, body])).toEqual([
      ['GET', `${BASE_URL}/notification-channels/${CHANNEL_ID}`, undefined],
      ['PATCH', `${BASE_URL}/notification-channels/${CHANNEL_ID}`, { default: true, events: null }],
      ['POST', `${BASE_URL}/notification-channels/${CHANNEL_ID}/test`, undefined],
      ['DELETE', `${BASE_URL}/notification-channels/nch_..%2Fx`, undefined],
    ]);
    expect(fetched.id).toBe(CHANNEL_ID);
    expect(updated.default).toBe(true);
    expect(tested).toEqual({ event_id: 'evt_1', delivered: true, status: 'delivered', error: null });
    expect(deleted).toBeUndefined();
  });

  it('list follows next_cursor through every page; listPage sends limit and cursor', async () => {
    // Prepare
    const second = { ...CHANNEL, id: 'nch_0m5xy3k0w0fedcba987654321' };
    const { client, sent } = clientWith([
      json(200, { channels: [CHANNEL], next_cursor: 'c1' }),
      json(200, { channels: [], next_cursor: 'c2' }),
      json(200, { channels: [second], next_cursor: null }),
      json(200, { channels: [CHANNEL], next_cursor: null }),
    ]);

    // Act
    const all = await client.notificationChannels.list();
    const page = await client.notificationChannels.listPage({ limit: 5, cursor: 'c9' });

    // Assess
    expect(all.map((channel) => channel.id)).toEqual([CHANNEL_ID, second.id]);
    expect(sent.map(({ url }) => url)).toEqual([
      `${BASE_URL}/notification-channels?limit=100`,
      `${BASE_URL}/notification-channels?limit=100&cursor=c1`,
      `${BASE_URL}/notification-channels?limit=100&cursor=c2`,
      `${BASE_URL}/notification-channels?limit=5&cursor=c9`,
    ]);
    expect(page.next_cursor).toBeNull();
  });
});

describe('client.notificationChannels: retries', () => {
  it('retries reads, updates and deletes after a 503, and a delete meeting 404 on its retry is done', async () => {
    // Prepare
    const { client, sent } = clientWith([
      apiError(503, 'unavailable'),
      json(200, CHANNEL),
      apiError(503, 'unavailable'),
      json(200, CHANNEL),
      apiError(503, 'unavailable'),
      apiError(404, 'not_found'),
    ]);

    // Act
    await client.notificationChannels.get(CHANNEL_ID);
    await client.notificationChannels.update(CHANNEL_ID, { name: 'Renamed' });
    await client.notificationChannels.delete(CHANNEL_ID);

    // Assess
    expect(sent.map(({ method }) => method)).toEqual(['GET', 'GET', 'PATCH', 'PATCH', 'DELETE', 'DELETE']);
  });

  it('never retries a create or a test send: each would act again', async () => {
    // Prepare
    const { client, sent } = clientWith([apiError(503, 'unavailable')]);

    // Act
    const create = client.notificationChannels.create({ name: 'x', type: 'webhook', url: 'https://a.test' });
    const test = client.notificationChannels.test(CHANNEL_ID);

    // Assess
    await expect(create).rejects.toBeInstanceOf(ServerError);
    await expect(test).rejects.toBeInstanceOf(ServerError);
    expect(sent.map(({ method }) => method)).toEqual(['POST', 'POST']);
  });

  it('reports an unknown channel as a NotFoundError', async () => {
    // Prepare
    const { client } = clientWith([apiError(404, 'not_found')]);

    // Act
    const read = client.notificationChannels.get(CHANNEL_ID);

    // Assess
    await expect(read).rejects.toBeInstanceOf(NotFoundError);
  });
});

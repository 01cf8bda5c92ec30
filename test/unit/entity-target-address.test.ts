import { describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds, systemClock } from '../../shared/adapters/system.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import type { TargetNetwork } from '../../shared/domain/target-network.js';
import { type ApiResult, callApi } from '../support/api-events.js';
import { MemoryApiKeyStore, MemoryAuditLog } from '../support/memory-access.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
} from '../support/memory-stores.js';
import { testApiHandler } from '../support/services.js';

const API_KEY = 'test-key';

/** The API over in-memory stores, for a deployment whose http targets may reach `allowed` (unset: absent). */
function setup(allowed?: readonly TargetNetwork[]) {
  const entities = new MemoryEntityStore();
  const store = new MemoryJobStore({ entities });
  const deployment = openDeployment();
  if (allowed === undefined) delete deployment.allowedTargetNetworks;
  else deployment.allowedTargetNetworks = allowed;
  const handler = testApiHandler({
    jobStore: store,
    webhooks: new MemoryWebhookStore(),
    entities,
    executions: new MemoryExecutionStore(),
    queue: new RecordingQueue(),
    secrets: new FakeSecretBox(),
    deployment,
    apiKeys: HashedApiKeys.fromKeys([API_KEY]),
    apiKeyStore: new MemoryApiKeyStore(),
    auditLog: new MemoryAuditLog(),
    scheduler: new MemoryScheduler(),
    clock: systemClock,
    ids: randomIds,
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
  });
  const send = (method: string, path: string, body: object) =>
    callApi(handler, {
      method,
      path,
      headers: { authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(body),
    });
  return {
    entities,
    create: (url: string, id = 'agent') =>
      send('POST', '/entities', { id, type: 'agent', name: 'Agent', target: { type: 'http', url } }),
    patch: (id: string, body: object) => send('PATCH', `/entities/${id}`, body),
  };
}

function errorOf(result: ApiResult): { code: string; message: string; details: ErrorDetail[] } {
  return (result.json as { error: { code: string; message: string; details: ErrorDetail[] } }).error;
}

const NEVER = 'which http targets may never reach';
const notIncluded = (network: TargetNetwork) =>
  `which this deployment does not allow (its allowedTargetNetworks setting does not include "${network}")`;

describe('POST /entities with an http target', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', `169.254.169.254, a cloud metadata address, ${NEVER}`],
    ['http://2852039166/latest/meta-data/', `169.254.169.254, a cloud metadata address, ${NEVER}`],
    ['http://[::ffff:169.254.169.254]/', `::ffff:a9fe:a9fe, a cloud metadata address, ${NEVER}`],
    ['http://[fd00:ec2::254]/latest/', `fd00:ec2::254, a cloud metadata address, ${NEVER}`],
    ['http://100.100.100.200/', `100.100.100.200, a cloud metadata address, ${NEVER}`],
    ['http://169.254.10.1/', `169.254.10.1, a link-local address, ${NEVER}`],
    ['http://[fe80::1]:8080/', `fe80::1, a link-local address, ${NEVER}`],
    ['http://0.0.0.0:8080/', `0.0.0.0, an unspecified address, ${NEVER}`],
    ['http://0/', `0.0.0.0, an unspecified address, ${NEVER}`],
    ['http://224.0.0.1/', `224.0.0.1, a multicast address, ${NEVER}`],
    ['http://255.255.255.255/', `255.255.255.255, the broadcast address, ${NEVER}`],
  ])('answers 422 naming target.url for %s, whatever the deployment allows', async (url, reason) => {
    // Prepare
    const api = setup(['loopback', 'private']);

    // Act
    const result = await api.create(url);

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result)).toEqual({
      code: 'validation_failed',
      message: `target.url: points at ${reason}`,
      details: [{ path: 'target.url', message: `points at ${reason}`, code: 'target_address_not_allowed' }],
    });
    expect(await api.entities.get('agent')).toBeNull();
  });

  it.each([
    ['http://127.0.0.1:8080/run', `127.0.0.1, a loopback address, ${notIncluded('loopback')}`],
    ['http://2130706433:8080/run', `127.0.0.1, a loopback address, ${notIncluded('loopback')}`],
    ['http://0x7f.1/run', `127.0.0.1, a loopback address, ${notIncluded('loopback')}`],
    ['http://[::1]:8080/run', `::1, a loopback address, ${notIncluded('loopback')}`],
    ['http://[::ffff:127.0.0.1]/run', `::ffff:7f00:1, a loopback address, ${notIncluded('loopback')}`],
    ['https://10.0.0.5/run', `10.0.0.5, a private-network address, ${notIncluded('private')}`],
    ['http://192.168.1.20/', `192.168.1.20, a private-network address, ${notIncluded('private')}`],
    ['http://[fd12::1]/', `fd12::1, a private-network address, ${notIncluded('private')}`],
  ])('answers 422 for %s on a deployment allowing public addresses only', async (url, reason) => {
    // Prepare
    const api = setup([]);

    // Act
    const result = await api.create(url);

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details).toEqual([
      { path: 'target.url', message: `points at ${reason}`, code: 'target_address_not_allowed' },
    ]);
  });

  it('treats a deployment that says nothing as public addresses only', async () => {
    // Prepare
    const api = setup(undefined);

    // Act
    const result = await api.create('http://127.0.0.1:8080/run');

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details[0]?.path).toBe('target.url');
  });

  it('accepts loopback and private addresses where the deployment allows them', async () => {
    // Prepare
    const api = setup(['loopback', 'private']);

    // Act
    const results = await Promise.all([
      api.create('http://127.0.0.1:8080/run', 'local'),
      api.create('http://[::1]:8080/run', 'local6'),
      api.create('https://10.0.0.5/run', 'vpc'),
    ]);

    // Assess
    expect(results.map((result) => result.status)).toEqual([201, 201, 201]);
  });

  it('accepts public addresses and names (names are checked when the worker connects)', async () => {
    // Prepare
    const api = setup([]);

    // Act
    const results = await Promise.all([
      api.create('https://agent.example.com/run', 'named'),
      api.create('http://localhost:8080/run', 'local-name'),
      api.create('https://93.184.215.14/run', 'public'),
    ]);

    // Assess
    expect(results.map((result) => result.status)).toEqual([201, 201, 201]);
  });

  it('refuses a target that is not http(s), naming target.url', async () => {
    // Prepare
    const api = setup(['loopback']);

    // Act
    const results = await Promise.all(
      ['file:///etc/passwd', 'gopher://127.0.0.1/', 'ftp://agent.example.com/'].map((url) => api.create(url)),
    );

    // Assess
    for (const result of results) {
      expect(result.status).toBe(422);
      expect(errorOf(result).details).toEqual([
        expect.objectContaining({
          path: 'target.url',
          message: 'must be an http(s) URL without credentials',
        }),
      ]);
    }
  });
});

describe('PATCH /entities/{id} with an http target', () => {
  it('answers 422 naming target.url for a refused address, and leaves the entity as it was', async () => {
    // Prepare
    const api = setup([]);
    expect((await api.create('https://agent.example.com/run')).status).toBe(201);

    // Act
    const result = await api.patch('agent', {
      target: { type: 'http', url: 'http://169.254.169.254/latest/meta-data/' },
    });

    // Assess
    expect(result.status).toBe(422);
    expect(errorOf(result).details).toEqual([
      {
        path: 'target.url',
        message: `points at 169.254.169.254, a cloud metadata address, ${NEVER}`,
        code: 'target_address_not_allowed',
      },
    ]);
    expect((await api.entities.get('agent'))?.entity.target).toEqual({
      type: 'http',
      url: 'https://agent.example.com/run',
    });
  });

  it('does not judge the stored target when the patch leaves it alone', async () => {
    // Prepare: an entity written while loopback was allowed, read by a deployment that no longer allows it.
    const before = setup(['loopback']);
    expect((await before.create('http://127.0.0.1:8080/run')).status).toBe(201);
    const stored = await before.entities.get('agent');
    const after = setup([]);
    if (stored) await after.entities.create(stored.entity, stored.sealedSecret);

    // Act
    const result = await after.patch('agent', { name: 'Renamed' });

    // Assess
    expect(result.status).toBe(200);
  });
});

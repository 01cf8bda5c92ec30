import { describe, expect, it } from 'vitest';
import { HashedApiKeys, hashApiKey } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { API_KEY_CACHE_MS, ApiKeyService } from '../../shared/app/api-key-service.js';
import { accessApi, DEPLOYMENT_KEY } from '../support/access-api.js';
import { MemoryApiKeyStore, memoryAuditTrail } from '../support/memory-access.js';
import { ManualClock } from '../support/memory-stores.js';

const json = (body: unknown) => JSON.stringify(body);

describe('POST /api-keys', () => {
  it('creates a key shown once, stores only its hash, and lists it without the key', async () => {
    // Prepare
    const api = accessApi();

    // Act
    const created = await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/api-keys',
      body: json({ name: 'deploy-pipeline', scope: 'trigger' }),
    });
    const listed = await api.as(DEPLOYMENT_KEY, { method: 'GET', path: '/api-keys' });

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/api-keys/deploy-pipeline');
    const { key, ...shown } = created.json as { key: string };
    expect(key).toMatch(/^sjk_[A-Za-z0-9_-]{43}$/);
    expect(shown).toEqual({
      name: 'deploy-pipeline',
      scope: 'trigger',
      created_at: '2025-01-15T09:00:00.000Z',
      last_used_at: null,
    });
    const stored = api.apiKeyStore.keys.get('deploy-pipeline');
    expect(stored?.keyHash).toBe(hashApiKey(key).toString('hex'));
    expect(JSON.stringify([...api.apiKeyStore.keys.values()])).not.toContain(key);
    expect(listed.json).toEqual({ api_keys: [shown] });
    expect(listed.body).not.toContain(key);
  });

  it.each([
    ['an upper-case name', { name: 'Deploy', scope: 'read' }, 'name'],
    ['the deployment key’s name', { name: 'deployment', scope: 'read' }, 'name'],
    ['an unknown scope', { name: 'ci', scope: 'write' }, 'scope'],
    ['no scope', { name: 'ci' }, 'scope'],
    ['an unknown field', { name: 'ci', scope: 'read', key: 'mine' }, 'key'],
  ])('answers 422 naming the field for %s', async (_label, body, field) => {
    // Prepare
    const api = accessApi();

    // Act
    const result = await api.as(DEPLOYMENT_KEY, { method: 'POST', path: '/api-keys', body: json(body) });

    // Assess
    expect(result.status).toBe(422);
    expect(
      (result.json as { error: { details: { path: string }[] } }).error.details.map((d) => d.path),
    ).toContain(field);
    expect(api.apiKeyStore.keys.size).toBe(0);
  });

  it('refuses a second key of the same name with 409', async () => {
    // Prepare
    const api = accessApi();
    await api.createKey('ci', 'read');

    // Act
    const again = await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/api-keys',
      body: json({ name: 'ci', scope: 'admin' }),
    });

    // Assess
    expect(again.status).toBe(409);
    expect(api.apiKeyStore.keys.get('ci')?.scope).toBe('read');
  });
});

describe('using and revoking keys', () => {
  it('authenticates a created key with its scope and refuses it once revoked', async () => {
    // Prepare
    const api = accessApi();
    const key = await api.createKey('ci', 'admin');

    // Act
    const before = await api.as(key, { method: 'GET', path: '/jobs' });
    const revoked = await api.as(DEPLOYMENT_KEY, { method: 'DELETE', path: '/api-keys/ci' });
    const after = await api.as(key, { method: 'GET', path: '/jobs' });
    const revokedAgain = await api.as(DEPLOYMENT_KEY, { method: 'DELETE', path: '/api-keys/ci' });

    // Assess
    expect(before.status).toBe(200);
    expect(revoked.status).toBe(204);
    expect(after.status).toBe(401);
    expect(revokedAgain.status).toBe(404);
  });

  it('lets a key revoked on another instance work until the cache ends, a minute at most', async () => {
    // Prepare: two instances of the API function over one store.
    const clock = new ManualClock(0);
    const store = new MemoryApiKeyStore();
    const instance = () =>
      new ApiKeyService({
        apiKeyStore: store,
        apiKeys: HashedApiKeys.fromKeys([DEPLOYMENT_KEY]),
        audit: memoryAuditTrail(clock),
        clock,
        logger: createLogger({ level: 'silent' }),
      });
    const [first, second] = [instance(), instance()];
    const { key } = await first.create({ name: 'ci', scope: 'read' });
    const seen = await second.verify(key);

    // Act
    await first.delete('ci');
    const onFirst = await first.verify(key);
    clock.advance(API_KEY_CACHE_MS - 1);
    const onSecondWithinTheMinute = await second.verify(key);
    clock.advance(1);
    const onSecondAfter = await second.verify(key);

    // Assess
    expect(seen).toEqual({ name: 'ci', scope: 'read' });
    expect(onFirst).toBeNull();
    expect(onSecondWithinTheMinute).toEqual({ name: 'ci', scope: 'read' });
    expect(onSecondAfter).toBeNull();
  });

  it('reads the stored keys once per minute however many requests come, and records use at most once a minute', async () => {
    // Prepare
    const api = accessApi();
    const key = await api.createKey('ci', 'read');
    const listsBefore = api.apiKeyStore.lists;

    // Act
    for (let request = 0; request < 5; request++) await api.as(key, { method: 'GET', path: '/jobs' });
    const afterBurst = { lists: api.apiKeyStore.lists - listsBefore, touches: api.apiKeyStore.touches };
    api.clock.advance(59_000);
    await api.as(key, { method: 'GET', path: '/jobs' });
    const within = api.apiKeyStore.touches;
    api.clock.advance(1_000);
    await api.as(key, { method: 'GET', path: '/jobs' });
    const listed = await api.as(DEPLOYMENT_KEY, { method: 'GET', path: '/api-keys' });

    // Assess
    expect(afterBurst).toEqual({ lists: 1, touches: 1 });
    expect(within).toBe(1);
    expect(api.apiKeyStore.touches).toBe(2);
    expect(listed.json).toMatchObject({
      api_keys: [{ name: 'ci', last_used_at: '2025-01-15T09:01:00.000Z' }],
    });
  });

  it('keeps the deployment’s own key as admin, named "deployment"', async () => {
    // Prepare
    const api = accessApi();

    // Act
    const created = await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/jobs',
      body: json({ name: 'x', trigger_type: 'manual', prompt_template: 'x' }),
    });

    // Assess
    expect(created.status).toBe(201);
    expect(api.auditLog.entries.map(({ entry }) => entry.actor)).toContainEqual({
      type: 'api_key',
      name: 'deployment',
    });
  });
});

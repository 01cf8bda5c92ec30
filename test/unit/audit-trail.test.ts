import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { AuditTrail } from '../../shared/app/audit-trail.js';
import { asCaller } from '../../shared/app/request-context.js';
import { accessApi, DEPLOYMENT_KEY, ROLE_ARN } from '../support/access-api.js';
import { MemoryAuditLog } from '../support/memory-access.js';
import { RecordingMetrics } from '../support/memory-stores.js';

const json = (body: unknown) => JSON.stringify(body);
const MINUTE = 60_000;

interface HistoryPage {
  history: { at: string; action: string; actor: unknown; changed_fields: string[]; resource: unknown }[];
  next_cursor: string | null;
}

describe('the audit trail of a job', () => {
  it('records who changed what and when, newest first, with field names and never secret values', async () => {
    // Prepare
    const api = accessApi({ authMode: 'both' });
    const ops = await api.createKey('ops', 'admin');
    const created = await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/jobs',
      body: json({ name: 'hook', trigger_type: 'webhook', prompt_template: 'Deploy {{ ref }}' }),
    });
    const job = created.json as { id: string; webhook_path: string; webhook_secret: string };
    await api.seedWebhook(job);

    // Act
    api.clock.advance(MINUTE);
    await api.as(ops, {
      method: 'PATCH',
      path: `/jobs/${job.id}`,
      body: json({ name: 'hook 2', description: 'd' }),
    });
    api.clock.advance(MINUTE);
    const rotated = await api.as(ops, { method: 'POST', path: `/jobs/${job.id}/webhook-secret/rotate` });
    expect(rotated.status).toBe(200);
    api.clock.advance(MINUTE);
    await api.asIam(`POST /jobs/{id}/disable`, { method: 'POST', path: `/jobs/${job.id}/disable` });
    const readKey = await api.createKey('reader', 'read');
    const history = await api.as(readKey, { method: 'GET', path: `/jobs/${job.id}/history` });

    // Assess
    expect(history.status).toBe(200);
    const page = history.json as HistoryPage;
    expect(
      page.history.map(({ at, action, actor, changed_fields }) => ({ at, action, actor, changed_fields })),
    ).toEqual([
      {
        at: '2025-01-15T09:03:00.000Z',
        action: 'disabled',
        actor: { type: 'iam', arn: ROLE_ARN },
        changed_fields: ['enabled'],
      },
      {
        at: '2025-01-15T09:02:00.000Z',
        action: 'webhook_secret_rotated',
        actor: { type: 'api_key', name: 'ops' },
        changed_fields: ['webhook_secret'],
      },
      {
        at: '2025-01-15T09:01:00.000Z',
        action: 'updated',
        actor: { type: 'api_key', name: 'ops' },
        changed_fields: ['description', 'name'],
      },
      {
        at: '2025-01-15T09:00:00.000Z',
        action: 'created',
        actor: { type: 'api_key', name: 'deployment' },
        changed_fields: ['name', 'prompt_template', 'trigger_type', 'webhook_secret'],
      },
    ]);
    expect(page.next_cursor).toBeNull();
    const everything = JSON.stringify(api.auditLog.entries);
    expect(everything).not.toContain(job.webhook_secret);
    expect(everything).not.toContain((rotated.json as { webhook_secret: string }).webhook_secret);
    expect(everything).not.toContain(ops);
  });

  it('pages with limit and cursor, and keeps a deleted job’s trail readable', async () => {
    // Prepare
    const api = accessApi();
    const created = await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/jobs',
      body: json({ name: 'j', trigger_type: 'manual', prompt_template: 'x' }),
    });
    const id = (created.json as { id: string }).id;
    for (const action of ['disable', 'enable', 'disable']) {
      api.clock.advance(1000);
      await api.as(DEPLOYMENT_KEY, { method: 'POST', path: `/jobs/${id}/${action}` });
    }
    api.clock.advance(1000);
    await api.as(DEPLOYMENT_KEY, { method: 'DELETE', path: `/jobs/${id}` });

    // Act
    const first = await api.as(DEPLOYMENT_KEY, {
      method: 'GET',
      path: `/jobs/${id}/history`,
      query: { limit: '3' },
    });
    const cursor = (first.json as HistoryPage).next_cursor ?? '';
    const second = await api.as(DEPLOYMENT_KEY, {
      method: 'GET',
      path: `/jobs/${id}/history`,
      query: { limit: '3', cursor },
    });

    // Assess
    expect((first.json as HistoryPage).history.map((entry) => entry.action)).toEqual([
      'deleted',
      'disabled',
      'enabled',
    ]);
    expect(cursor).not.toBe('');
    expect(second.json).toMatchObject({ next_cursor: null });
    expect((second.json as HistoryPage).history.map((entry) => entry.action)).toEqual([
      'disabled',
      'created',
    ]);
  });

  it('answers 404 for a job that never existed, and 400 naming cursor for a cursor it did not issue', async () => {
    // Prepare
    const api = accessApi();

    // Act
    const unknown = await api.as(DEPLOYMENT_KEY, {
      method: 'GET',
      path: '/jobs/job_00000000-0000-4000-8000-000000000000/history',
    });
    const badCursor = await api.as(DEPLOYMENT_KEY, {
      method: 'GET',
      path: '/jobs/job_00000000-0000-4000-8000-000000000000/history',
      query: { cursor: 'bm9wZQ' },
    });

    // Assess
    expect(unknown.status).toBe(404);
    expect(badCursor.status).toBe(400);
    expect(badCursor.json).toMatchObject({ error: { details: [{ path: 'cursor' }] } });
  });

  it('records nothing for a change that changes nothing', async () => {
    // Prepare
    const api = accessApi();
    const created = await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/jobs',
      body: json({ name: 'j', trigger_type: 'manual', prompt_template: 'x' }),
    });
    const id = (created.json as { id: string }).id;

    // Act
    await api.as(DEPLOYMENT_KEY, { method: 'POST', path: `/jobs/${id}/enable` });
    await api.as(DEPLOYMENT_KEY, { method: 'PATCH', path: `/jobs/${id}`, body: json({ name: 'j' }) });

    // Assess
    expect(api.auditLog.entries.map(({ entry }) => entry.action)).toEqual(['created']);
  });

  it('keeps the change when its entry cannot be written, logging it and counting AuditWriteFailed', async () => {
    // Prepare
    const api = accessApi();
    api.auditLog.failWith = new Error('DynamoDB unavailable');

    // Act
    const created = await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/jobs',
      body: json({ name: 'j', trigger_type: 'manual', prompt_template: 'x' }),
    });

    // Assess
    expect(created.status).toBe(201);
    expect(api.metrics.counted).toEqual([{ name: 'AuditWriteFailed', dimensions: {} }]);
  });
});

describe('the audit trail of entities and keys', () => {
  it('records entity and key changes in their own partitions, with the TTL of executions', async () => {
    // Prepare
    const api = accessApi();

    // Act
    await api.as(DEPLOYMENT_KEY, {
      method: 'POST',
      path: '/entities',
      body: json({
        id: 'agent-1',
        type: 'agent',
        name: 'A',
        target: { type: 'http', url: 'http://127.0.0.1:9/x' },
      }),
    });
    await api.as(DEPLOYMENT_KEY, {
      method: 'PATCH',
      path: '/entities/agent-1',
      body: json({ target: { type: 'echo' } }),
    });
    await api.as(DEPLOYMENT_KEY, { method: 'DELETE', path: '/entities/agent-1' });
    await api.createKey('ci', 'read');
    await api.as(DEPLOYMENT_KEY, { method: 'DELETE', path: '/api-keys/ci' });

    // Assess
    expect(
      api.auditLog.entries.map(({ entry }) => [
        entry.resource.type,
        entry.resource.id,
        entry.action,
        entry.changed_fields,
      ]),
    ).toEqual([
      ['entity', 'agent-1', 'created', ['id', 'name', 'signing_secret', 'target', 'type']],
      ['entity', 'agent-1', 'updated', ['target']],
      ['entity', 'agent-1', 'deleted', []],
      ['api_key', 'ci', 'created', ['name', 'scope']],
      ['api_key', 'ci', 'deleted', []],
    ]);
    const thirtyDays = Date.parse('2025-01-15T09:00:00.000Z') / 1000 + 30 * 24 * 60 * 60;
    // The handler's default retention is 90 days.
    expect(api.auditLog.entries[0]?.expiresAt).toBe(thirtyDays + 60 * 24 * 60 * 60);
  });
});

describe('changes the service makes itself', () => {
  it('name the system as actor, with the reason, even while a caller is being served', async () => {
    // Prepare
    const log = new MemoryAuditLog();
    const trail = new AuditTrail({
      audit: log,
      clock: { now: () => new Date('2027-03-01T00:00:00.000Z') },
      logger: createLogger({ level: 'silent' }),
      metrics: new RecordingMetrics(),
      retentionDays: 30,
    });
    const caller = { type: 'api_key', name: 'callback-sender', scope: 'trigger' } as const;

    // Act
    // A callback's failed run pauses its job: the request is the caller's, the pause the service's.
    await asCaller(caller, () =>
      trail.record({
        resource: { type: 'job', id: 'job_1' },
        action: 'disabled',
        changedFields: ['disabled_reason', 'enabled'],
        actor: { type: 'system' },
        reason: 'consecutive_failures',
      }),
    );
    await asCaller(caller, () => trail.record({ resource: { type: 'job', id: 'job_1' }, action: 'enabled' }));

    // Assess
    expect(log.entries.map(({ entry }) => entry)).toEqual([
      {
        at: '2027-03-01T00:00:00.000Z',
        action: 'disabled',
        resource: { type: 'job', id: 'job_1' },
        actor: { type: 'system' },
        changed_fields: ['disabled_reason', 'enabled'],
        reason: 'consecutive_failures',
      },
      {
        at: '2027-03-01T00:00:00.000Z',
        action: 'enabled',
        resource: { type: 'job', id: 'job_1' },
        actor: { type: 'api_key', name: 'callback-sender' },
        changed_fields: [],
      },
    ]);
  });
});

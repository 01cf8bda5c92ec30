import { describe, expect, it } from 'vitest';
import { accessApi, DEPLOYMENT_KEY, ROLE_ARN } from '../support/access-api.js';

const json = (body: unknown) => JSON.stringify(body);
const job = json({ name: 'j', trigger_type: 'manual', prompt_template: 'x' });

describe('auth mode "iam"', () => {
  it('takes the IAM principal API Gateway authorized for the route, as admin, and names it in the trail', async () => {
    // Prepare
    const api = accessApi({ authMode: 'iam' });

    // Act
    const created = await api.asIam('POST /jobs', { method: 'POST', path: '/jobs', body: job });

    // Assess
    expect(created.status).toBe(201);
    expect(api.auditLog.entries[0]?.entry.actor).toEqual({ type: 'iam', arn: ROLE_ARN });
  });

  it('refuses API keys, the deployment’s own included', async () => {
    // Prepare
    const api = accessApi({ authMode: 'iam' });

    // Act
    const result = await api.as(DEPLOYMENT_KEY, { method: 'GET', path: '/jobs' });

    // Assess
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({
      error: { message: 'This deployment takes requests signed with AWS Signature Version 4 (IAM) only.' },
    });
  });

  it.each([
    ['a catch-all route', 'ANY /{proxy+}', 'GET', '/jobs/'],
    ['another route', 'GET /jobs', 'POST', '/jobs'],
    ['a path API Gateway matched to another route', 'GET /jobs/{id}', 'GET', '/%6aobs'],
  ])('refuses an identity authorized for %s', async (_label, routeKey, method, path) => {
    // Prepare
    const api = accessApi({ authMode: 'iam' });

    // Act
    const result = await api.asIam(routeKey, { method, path, ...(method === 'POST' && { body: job }) });

    // Assess
    expect(result.status).toBe(401);
    expect(api.auditLog.entries).toEqual([]);
  });

  it('leaves the health check open and the callback to its token', async () => {
    // Prepare
    const api = accessApi({ authMode: 'iam' });

    // Act
    const health = await api.as(null, { method: 'GET', path: '/health' });
    const callback = await api.as(null, {
      method: 'POST',
      path: '/executions/exec_0m5xy3k0w4f1d2c3b4a5968778695/callback',
      body: json({ status: 'succeeded' }),
    });

    // Assess
    expect(health.status).toBe(200);
    expect(callback.status).toBe(401);
    expect(JSON.stringify(callback.json)).toMatch(/callback token/);
  });
});

describe('auth modes "api-key" and "both"', () => {
  it('"api-key" ignores an IAM identity: no key, no entry', async () => {
    // Prepare
    const api = accessApi({ authMode: 'api-key' });

    // Act
    const result = await api.asIam('GET /jobs', { method: 'GET', path: '/jobs' });

    // Assess
    expect(result.status).toBe(401);
  });

  it('"both" takes either an API key, with its scope, or an IAM principal', async () => {
    // Prepare
    const api = accessApi({ authMode: 'both' });
    const reader = await api.createKey('reader', 'read');

    // Act
    const byKey = await api.as(reader, { method: 'GET', path: '/jobs' });
    const byKeyBeyondScope = await api.as(reader, { method: 'POST', path: '/jobs', body: job });
    const byIam = await api.asIam('POST /jobs', { method: 'POST', path: '/jobs', body: job });
    const byNeither = await api.as(null, { method: 'GET', path: '/jobs' });

    // Assess
    expect([byKey.status, byKeyBeyondScope.status, byIam.status, byNeither.status]).toEqual([
      200, 403, 201, 401,
    ]);
  });
});

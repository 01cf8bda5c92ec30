import { describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createJsonLogger, randomIds } from '../../shared/adapters/system.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import type { Job } from '../../shared/domain/job.js';
import { makeApiHandler } from '../../shared/http/api-handler.js';
import { type ApiEventInput, type ApiResult, callApi } from '../support/api-events.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  makeEntity,
  openDeployment,
  RecordingQueue,
} from '../support/memory-stores.js';

/** What the control plane reads from requests. */

const API_KEY = 'test-key';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const MANUAL = { name: 'Manual job', trigger_type: 'manual', prompt_template: 'Do the thing' };

interface ErrorBody {
  code: string;
  message: string;
  details: ErrorDetail[];
}

/** A handler over in-memory stores with a default echo entity. */
async function setup() {
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo-default', default: true }), null);
  const jobs = new MemoryJobStore({ entities });
  const handler = makeApiHandler({
    jobs,
    webhooks: new MemoryWebhookStore(),
    entities,
    executions: new MemoryExecutionStore({ jobs }),
    queue: new RecordingQueue(),
    secrets: new FakeSecretBox(),
    deployment: openDeployment(),
    apiKeys: HashedApiKeys.fromKeys([API_KEY]),
    scheduler: new MemoryScheduler(),
    clock: { now: () => new Date('2025-01-15T09:00:00.000Z') },
    ids: randomIds,
    logger: createJsonLogger({ level: 'silent' }),
  });
  const authed = (input: ApiEventInput) =>
    callApi(handler, { ...input, headers: { ...AUTH, ...input.headers } });
  const create = async (): Promise<Job> => {
    const result = await authed({ method: 'POST', path: '/jobs', body: JSON.stringify(MANUAL) });
    expect(result.status).toBe(201);
    return result.json as Job;
  };
  return { authed, create, call: (input: ApiEventInput) => callApi(handler, input) };
}

function errorOf(result: ApiResult): ErrorBody {
  return (result.json as { error: ErrorBody }).error;
}

describe('execution history offset', () => {
  it('refuses an offset past 1000 with a 422 naming the cap and pointing at cursor', async () => {
    // Prepare
    const api = await setup();
    const job = await api.create();

    // Act
    const deepest = await api.authed({
      method: 'GET',
      path: `/jobs/${job.id}/executions`,
      query: { offset: '1000' },
    });
    const deeper = await api.authed({
      method: 'GET',
      path: `/jobs/${job.id}/executions`,
      query: { offset: '1001' },
    });

    // Assess
    expect(deepest.status).toBe(200);
    expect(deeper.status).toBe(422);
    const error = errorOf(deeper);
    expect(error.details).toEqual([
      { path: 'offset', message: expect.stringContaining('from 0 to 1000'), code: 'invalid' },
    ]);
    expect(error.message).toContain('cursor');
    expect(error.message).toContain('1000');
  });
});

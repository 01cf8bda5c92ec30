import { describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds } from '../../shared/adapters/system.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import type { Job } from '../../shared/domain/job.js';
import type { Channel } from '../../shared/domain/notification-channel.js';
import type { ChannelStore } from '../../shared/ports.js';
import { callApi } from '../support/api-events.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  MemoryEntityStore,
  MemoryExecutionStore,
  makeEntity,
  openDeployment,
  RecordingQueue,
} from '../support/memory-stores.js';
import { testApiHandler } from '../support/services.js';

/*
 * `config.alerts.channels` must name channels that exist when a job is created or changed, and a
 * channel deleted after a job named it does not stop the job from being changed.
 */

const API_KEY = 'test-key';
const KNOWN = 'nch_0m5xy3k0w0123456789abcdef';
const ALSO_KNOWN = 'nch_0m5xy3k0w1123456789abcdef';
const UNKNOWN = 'nch_0m5xy3k0w0fedcba987654321';

/** Channels by id; only `get` is used by job writes. */
function channelStore(ids: Set<string>): ChannelStore {
  const unused = () => Promise.reject(new Error('not used by job writes'));
  return {
    get: async (id) => (ids.has(id) ? { channel: { id } as Channel, version: 1, sealedSecret: null } : null),
    create: unused,
    list: unused,
    replace: unused,
    delete: unused,
    defaultIds: unused,
    recordDelivery: unused,
  };
}

function setup() {
  const channels = new Set([KNOWN, ALSO_KNOWN]);
  const entities = new MemoryEntityStore();
  void entities.create(makeEntity({ id: 'echo-default', default: true }), null);
  const handler = testApiHandler({
    jobStore: new MemoryJobStore({ entities }),
    entities,
    executions: new MemoryExecutionStore(),
    queue: new RecordingQueue(),
    deployment: openDeployment(),
    apiKeys: HashedApiKeys.fromKeys([API_KEY]),
    channelStore: channelStore(channels),
    clock: { now: () => new Date('2027-03-01T00:00:00.000Z') },
    ids: randomIds,
    logger: createLogger({ level: 'silent' }),
  });
  const send = async (method: string, path: string, body: unknown) => {
    const result = await callApi(handler, {
      method,
      path,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: result.status, json: result.json as Job & { error: { details: ErrorDetail[] } } };
  };
  return { channels, send };
}

const job = (channels: string[]) => ({
  name: 'Alerting job',
  trigger_type: 'manual',
  prompt_template: 'x',
  config: { alerts: { channels, failure_threshold: 2 } },
});

describe('config.alerts.channels', () => {
  it('refuses to create a job naming a channel that does not exist, naming the element', async () => {
    // Prepare
    const { send } = setup();

    // Act
    const refused = await send('POST', '/jobs', job([KNOWN, UNKNOWN]));
    const created = await send('POST', '/jobs', job([KNOWN, ALSO_KNOWN]));

    // Assess
    expect(refused.status).toBe(422);
    expect(refused.json.error.details).toEqual([
      {
        path: 'config.alerts.channels[1]',
        message: `is not a notification channel (no channel has the id "${UNKNOWN}")`,
        code: 'unknown_channel',
      },
    ]);
    expect(created.status).toBe(201);
    expect(created.json.config).toEqual({ alerts: { channels: [KNOWN, ALSO_KNOWN], failure_threshold: 2 } });
  });

  it('refuses a PATCH that adds an unknown channel, and accepts one that keeps a channel deleted since', async () => {
    // Prepare
    const { channels, send } = setup();
    const created = (await send('POST', '/jobs', job([KNOWN]))).json;
    channels.delete(KNOWN);

    // Act
    const adding = await send('PATCH', `/jobs/${created.id}`, {
      config: { alerts: { channels: [KNOWN, UNKNOWN] } },
    });
    const renamed = await send('PATCH', `/jobs/${created.id}`, { name: 'Renamed' });
    const keeping = await send('PATCH', `/jobs/${created.id}`, {
      config: { alerts: { channels: [ALSO_KNOWN, KNOWN] } },
    });

    // Assess
    expect(adding.status).toBe(422);
    expect(adding.json.error.details.map((detail) => detail.path)).toEqual(['config.alerts.channels[1]']);
    expect(renamed.status).toBe(200);
    expect(keeping.status).toBe(200);
    expect(keeping.json.config).toEqual({ alerts: { channels: [ALSO_KNOWN, KNOWN] } });
  });
});

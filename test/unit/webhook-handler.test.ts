import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { makeWebhookHandler } from '../../shared/handlers/webhook-handler.js';
import { callApi } from '../support/api-events.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { testServices } from '../support/services.js';

function setup() {
  const clock = new ManualClock(Date.parse('2025-06-01T10:00:00.000Z'));
  const entities = new MemoryEntityStore();
  const jobStore = new MemoryJobStore({ entities });
  const lines: string[] = [];
  const metrics = new RecordingMetrics();
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  const { webhooks } = testServices({
    jobStore,
    entities,
    executions: new MemoryExecutionStore(),
    queue: new RecordingQueue(),
    deployment: openDeployment(),
    clock,
    ids: sequentialIds(clock),
    logger,
    metrics,
  });
  const handler = makeWebhookHandler({ webhooks, logger, metrics });
  const deliver = (path: string, body: string) => callApi(handler, { method: 'POST', path, body });
  const logEntries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { deliver, metrics, logEntries };
}

describe('the webhook handler', () => {
  it('counts each rejected delivery as WebhookRejected by reason, and logs it with the request id', async () => {
    // Prepare
    const { deliver, metrics, logEntries } = setup();

    // Act
    const unknown = await deliver('/webhooks/nobody-has-this-path', '{}');
    const tooLarge = await deliver('/webhooks/nobody-has-this-path', `"${'x'.repeat(300 * 1024)}"`);

    // Assess
    expect([unknown.status, tooLarge.status]).toEqual([404, 413]);
    expect(metrics.counted).toEqual([
      { name: 'WebhookRejected', dimensions: { Reason: 'unknown_path' } },
      { name: 'WebhookRejected', dimensions: { Reason: 'too_large' } },
    ]);
    const rejections = logEntries().filter((entry) => entry.message === 'webhook delivery rejected');
    expect(rejections.map((entry) => entry.reason)).toEqual(['unknown_path', 'too_large']);
    for (const entry of rejections) expect(entry.request_id).toMatch(/^aws-\d+$/);
  });
});

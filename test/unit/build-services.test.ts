import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { buildServices, MissingAdapterError, type ServiceAdapters } from '../../shared/app/build-services.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';

/** What every function has: the stores, the queue, the deployment, the clock, ids, logs and metrics. */
function baseAdapters(): ServiceAdapters {
  const clock = new ManualClock(Date.parse('2025-01-15T09:00:00.000Z'));
  const entities = new MemoryEntityStore();
  return {
    jobs: new MemoryJobStore({ entities }),
    entities,
    executions: new MemoryExecutionStore(),
    webhooks: new MemoryWebhookStore(),
    queue: new RecordingQueue(),
    deployment: openDeployment(),
    clock,
    ids: sequentialIds(clock),
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
  };
}

describe('buildServices', () => {
  it('builds each service once, on first use, and shares it', () => {
    // Prepare
    const services = buildServices({
      ...baseAdapters(),
      scheduler: new MemoryScheduler(),
      secrets: new FakeSecretBox(),
      retentionDays: 30,
      rateLimiter: { take: async () => ({ allowed: true }) },
    });

    // Act
    const first = [services.jobs, services.runs, services.webhooks, services.schedules];
    const second = [services.jobs, services.runs, services.webhooks, services.schedules];

    // Assess
    expect(second).toEqual(first);
    second.forEach((service, index) => {
      expect(service).toBe(first[index]);
    });
  });

  it('builds what a function uses without the adapters it does not (the dispatch function)', () => {
    // Prepare
    const services = buildServices({ ...baseAdapters(), retentionDays: 30 });

    // Act
    const runs = services.runs;

    // Assess
    expect(typeof runs.dispatchCron).toBe('function');
  });

  it.each([
    ['worker', 'target invoker', (adapters: ServiceAdapters) => buildServices(adapters).worker],
    ['schedule', 'scheduler', (adapters: ServiceAdapters) => buildServices(adapters).schedules],
    ['job', 'secret box', (adapters: ServiceAdapters) => buildServices(adapters).jobs],
    ['run', 'retention period', (adapters: ServiceAdapters) => buildServices(adapters).runs],
    ['webhook', 'rate limiter', (adapters: ServiceAdapters) => buildServices(adapters).webhooks],
  ])('names the adapter the %s service needs when the runtime did not give it', (service, adapter, use) => {
    // Prepare
    const adapters: ServiceAdapters = {
      ...baseAdapters(),
      scheduler: new MemoryScheduler(),
      secrets: new FakeSecretBox(),
      retentionDays: 30,
    };
    if (adapter === 'scheduler') delete adapters.scheduler;
    if (adapter === 'secret box') delete adapters.secrets;
    if (adapter === 'retention period') delete adapters.retentionDays;

    // Act
    const attempt = () => use(adapters);

    // Assess
    expect(attempt).toThrow(MissingAdapterError);
    expect(attempt).toThrow(`The ${service} service needs a ${adapter} adapter`);
  });
});

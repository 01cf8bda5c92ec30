import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import type { Alerting } from '../../shared/app/alerting.js';
import {
  buildAlertingServices,
  buildRunService,
  buildRunWorker,
  buildScheduleSync,
  buildServices,
  buildWebhookService,
  MissingAdapterError,
  type ServiceAdapters,
} from '../../shared/app/build-services.js';
import type { ExecutionStore } from '../../shared/ports.js';
import { MemoryAuditLog } from '../support/memory-access.js';
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
      auditLog: new MemoryAuditLog(),
    });

    // Act
    const first = [services.jobs, services.runs, services.webhooks, services.schedules];
    const second = [services.jobs, services.runs, services.webhooks, services.schedules];

    // Assess
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
    ['audit', 'audit log', (adapters: ServiceAdapters) => buildServices(adapters).jobs],
    ['run', 'retention period', (adapters: ServiceAdapters) => buildServices(adapters).runs],
    ['webhook', 'rate limiter', (adapters: ServiceAdapters) => buildServices(adapters).webhooks],
    // The builders a Lambda function calls for only the services it uses name the same adapters.
    ['worker', 'target invoker', (adapters: ServiceAdapters) => buildRunWorker(adapters)],
    ['schedule', 'scheduler', (adapters: ServiceAdapters) => buildScheduleSync(adapters)],
    ['run', 'retention period', (adapters: ServiceAdapters) => buildRunService(adapters)],
    [
      'webhook',
      'rate limiter',
      (adapters: ServiceAdapters) => buildWebhookService(adapters, { runs: buildRunService(adapters) }),
    ],
    ['alerting', 'alert store', (adapters: ServiceAdapters) => buildAlertingServices(adapters)],
  ])('names the adapter the %s service needs when the runtime did not give it', (service, adapter, use) => {
    // Prepare
    const adapters: ServiceAdapters = {
      ...baseAdapters(),
      scheduler: new MemoryScheduler(),
      secrets: new FakeSecretBox(),
      retentionDays: 30,
      auditLog: new MemoryAuditLog(),
    };
    if (adapter === 'audit log') delete adapters.auditLog;
    if (adapter === 'scheduler') delete adapters.scheduler;
    if (adapter === 'secret box') delete adapters.secrets;
    if (adapter === 'retention period') delete adapters.retentionDays;

    // Act
    const attempt = () => use(adapters);

    // Assess
    expect(attempt).toThrow(MissingAdapterError);
    expect(attempt).toThrow(
      new RegExp(
        `^The ${service} service needs an? ${adapter} adapter, which this runtime does not provide\\.$`,
      ),
    );
  });

  it('hands every run end to the alerting a function gives it: logged by runs, failing the message in the worker', () => {
    // Prepare
    const adapters: ServiceAdapters = {
      ...baseAdapters(),
      secrets: new FakeSecretBox(),
      retentionDays: 30,
      invoker: { invoke: () => Promise.reject(new Error('no run is started here')) },
    };
    const observed: { executions: ExecutionStore; rethrow: boolean }[] = [];
    const alerting = {
      observed: (executions: ExecutionStore, { rethrow }: { rethrow: boolean }) => {
        observed.push({ executions, rethrow });
        return executions;
      },
    } as Alerting;

    // Act
    buildRunService(adapters, { alerting });
    buildRunWorker(adapters, { alerting });
    buildRunService(adapters);
    buildRunWorker(adapters);

    // Assess
    expect(observed).toEqual([
      { executions: adapters.executions, rethrow: false },
      { executions: adapters.executions, rethrow: true },
    ]);
  });
});

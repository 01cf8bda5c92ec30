import { JobService } from '../../shared/app/job-service.js';
import { RunService, type RunServiceDeps } from '../../shared/app/run-service.js';
import type { JobStore, Metrics, Scheduler } from '../../shared/ports.js';
import { memoryAuditTrail } from './memory-access.js';
import { FakeSecretBox, MemoryScheduler, RecordingMetrics } from './memory-stores.js';

export type ServicesDeps = Omit<RunServiceDeps, 'jobs' | 'retentionDays'> & {
  /** Where the JobService keeps the jobs. */
  jobStore: JobStore;
  /** Where cron jobs' schedules go. @default a fresh MemoryScheduler */
  scheduler?: Scheduler;
  /** What the JobService counts. @default a fresh RecordingMetrics */
  metrics?: Metrics;
};

/**
 * A JobService over `jobStore` (with a FakeSecretBox) and a RunService over it, sharing the other stores,
 * the deployment, the clock, the ids and the logger, as the API wires them; runs are kept 30 days.
 */
export function services({
  jobStore,
  scheduler = new MemoryScheduler(),
  metrics = new RecordingMetrics(),
  ...deps
}: ServicesDeps): {
  jobs: JobService;
  runs: RunService;
} {
  const { entities, deployment, clock, ids, logger } = deps;
  const secrets = new FakeSecretBox();
  const jobs = new JobService({
    jobs: jobStore,
    entities,
    deployment,
    clock,
    ids,
    logger,
    metrics,
    secrets,
    scheduler,
    audit: memoryAuditTrail(clock),
  });
  const runs = new RunService({ ...deps, jobs, retentionDays: 30 });
  return { jobs, runs };
}

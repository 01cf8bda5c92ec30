import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { buildServices, type ServiceAdapters, type Services } from '../../shared/app/build-services.js';
import type { JobService } from '../../shared/app/job-service.js';
import type { RunService } from '../../shared/app/run-service.js';
import type { AuthMode } from '../../shared/domain/access.js';
import { makeApiHandler } from '../../shared/http/api-handler.js';
import type {
  ApiKeyStore,
  ApiKeyVerifier,
  AuditLog,
  JobStore,
  Metrics,
  RateLimiter,
  Scheduler,
  SecretBox,
  WebhookStore,
} from '../../shared/ports.js';
import { MemoryApiKeyStore, MemoryAuditLog } from './memory-access.js';
import { FakeSecretBox, MemoryScheduler, MemoryWebhookStore, RecordingMetrics } from './memory-stores.js';

/** Adapters for tests: what a test leaves out gets an in-memory stand-in. */
export type TestAdapters = Omit<
  ServiceAdapters,
  | 'jobs'
  | 'webhooks'
  | 'metrics'
  | 'secrets'
  | 'scheduler'
  | 'retentionDays'
  | 'rateLimiter'
  | 'auditLog'
  | 'apiKeyStore'
  | 'deploymentKeys'
> & {
  /** Where the jobs are kept. */
  jobStore: JobStore;
  /** @default a fresh MemoryWebhookStore */
  webhooks?: WebhookStore;
  /** @default a fresh MemoryScheduler */
  scheduler?: Scheduler;
  /** @default a fresh RecordingMetrics */
  metrics?: Metrics;
  /** @default a fresh FakeSecretBox */
  secrets?: SecretBox;
  /** @default one that always allows */
  rateLimiter?: RateLimiter;
  /** @default 30 */
  retentionDays?: number;
  /** @default a fresh MemoryAuditLog */
  auditLog?: AuditLog;
  /** @default a fresh MemoryApiKeyStore */
  apiKeyStore?: ApiKeyStore;
  /** The deployment's own keys. @default none */
  deploymentKeys?: ApiKeyVerifier;
};

/** Every service over `adapters`, built by the runtimes' own composition (buildServices). */
export function testServices({
  jobStore,
  webhooks = new MemoryWebhookStore(),
  scheduler = new MemoryScheduler(),
  metrics = new RecordingMetrics(),
  secrets = new FakeSecretBox(),
  rateLimiter = { take: async () => ({ allowed: true }) },
  retentionDays = 30,
  auditLog = new MemoryAuditLog(),
  apiKeyStore = new MemoryApiKeyStore(),
  deploymentKeys = HashedApiKeys.fromKeys([]),
  ...adapters
}: TestAdapters): Services {
  return buildServices({
    ...adapters,
    auditLog,
    apiKeyStore,
    deploymentKeys,
    jobs: jobStore,
    webhooks,
    scheduler,
    metrics,
    secrets,
    rateLimiter,
    retentionDays,
  });
}

/** The job and run services of `testServices`, as most tests use them. */
export function services(adapters: TestAdapters): { jobs: JobService; runs: RunService } {
  const built = testServices(adapters);
  return { jobs: built.jobs, runs: built.runs };
}

/** The API handler over `testServices(adapters)`, `apiKeys` being the deployment's own keys. */
export function testApiHandler({
  apiKeys,
  openApiDocument,
  authMode,
  ...adapters
}: TestAdapters & { apiKeys: ApiKeyVerifier; openApiDocument?: () => Promise<string>; authMode?: AuthMode }) {
  return makeApiHandler({
    services: testServices({ ...adapters, deploymentKeys: apiKeys }),
    clock: adapters.clock,
    logger: adapters.logger,
    ...(openApiDocument && { openApiDocument }),
    ...(authMode && { authMode }),
  });
}

import { awsDefaults } from '../config/defaults.js';
import { type RunEventSetting, runEventsFromStarts } from '../domain/run-events.js';
import type {
  AlertStore,
  ApiKeyStore,
  ApiKeyVerifier,
  AuditLog,
  ChannelNotifier,
  ChannelStore,
  Clock,
  DeploymentConfig,
  EntityStore,
  EventPublisher,
  ExecutionStore,
  IdGenerator,
  JobStore,
  Logger,
  Metrics,
  RateLimiter,
  RunQueue,
  Scheduler,
  SecretBox,
  TargetInvoker,
  WebhookStore,
} from '../ports.js';
import { type Alerting, buildAlerting } from './alerting.js';
import { ApiKeyService } from './api-key-service.js';
import { AuditTrail } from './audit-trail.js';
import { EntityService } from './entity-service.js';
import { JobService, jobReader } from './job-service.js';
import { publishRunStarts, RunEvents } from './run-events.js';
import { RunService } from './run-service.js';
import { RunWorker } from './run-worker.js';
import { ScheduleSync } from './schedule-sync.js';
import { WebhookSecretService, WebhookService } from './webhook-service.js';

/**
 * What the services are made of: the ports' adapters a runtime chose, and its configuration. A Lambda
 * function gives only what its services use (the worker has no scheduler, the API no target invoker); a
 * service asked for without one of its adapters throws, naming it.
 */
export interface ServiceAdapters {
  jobs: JobStore;
  entities: EntityStore;
  executions: ExecutionStore;
  webhooks: WebhookStore;
  queue: RunQueue;
  deployment: DeploymentConfig;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  metrics: Metrics;
  /** How long execution records are kept (days): whatever starts runs. */
  retentionDays?: number;
  /** Seals and opens webhook and entity signing secrets: job and entity writes, deliveries, the worker. */
  secrets?: SecretBox;
  /** Cron schedules (EventBridge Scheduler on AWS, in process locally): job writes and reconciliation. */
  scheduler?: Scheduler;
  /** A webhook job's `webhook_rate_limit`: deliveries. */
  rateLimiter?: RateLimiter;
  /** Invokes entities' targets: the worker. */
  invoker?: TargetInvoker;
  /** Where the audit trail is kept: whatever changes jobs, entities or API keys (the API). */
  auditLog?: AuditLog;
  /** The API keys created through the API, hashed: the API. */
  apiKeyStore?: ApiKeyStore;
  /** The deployment's own keys (`admin`): the Secrets Manager secret on AWS, the printed key locally. */
  deploymentKeys?: ApiKeyVerifier;
  /**
   * Alerting's state and outbox: where runs end (the API, the workers) and the sweeper. Given, the run and
   * worker services' execution store tells alerting of every run's end (see `observeRunOutcomes`).
   */
  alertStore?: AlertStore;
  /** Notification channels: with `alertStore`. */
  channelStore?: ChannelStore;
  /** Sends notifications (webhook channels; SNS on AWS): with `alertStore`. */
  notifier?: ChannelNotifier;
  /** The deployment's event bus (EventBridge on AWS): where runs end, and the sweeper. */
  events?: EventPublisher;
  /**
   * Which run state changes go on `events`; with `all`, whatever starts or claims runs is given `events` too.
   * @default awsDefaults.runEvents (`failed`)
   */
  runEventSetting?: RunEventSetting;
}

/** Every use case of the service, built once per runtime from one set of adapters. */
export interface Services {
  jobs: JobService;
  entities: EntityService;
  runs: RunService;
  webhooks: WebhookService;
  webhookSecrets: WebhookSecretService;
  schedules: ScheduleSync;
  worker: RunWorker;
  audit: AuditTrail;
  apiKeys: ApiKeyService;
  alerting: Alerting;
}

/** An adapter a service needed and the runtime did not give. */
export class MissingAdapterError extends Error {
  constructor(adapter: string, service: string) {
    const article = /^[aeiou]/i.test(adapter) ? 'an' : 'a';
    super(`The ${service} service needs ${article} ${adapter} adapter, which this runtime does not provide.`);
    this.name = 'MissingAdapterError';
  }
}

/**
 * The one place services are constructed: each on first use, once, from `adapters`. The Lambda entry
 * points (functions/aws-deps.ts) and the local runtime (infra/local/runtime.ts) only choose adapters and
 * configuration, then hand the services to the handlers.
 *
 * @example
 * const services = buildServices({ jobs, entities, executions, webhooks, queue, secrets, deployment,
 *   clock, ids, logger, metrics, retentionDays: 90, scheduler, auditLog, apiKeyStore, deploymentKeys });
 * const handler = makeApiHandler({ services, clock, logger });
 * const worker = makeWorkerHandler({ worker: services.worker, logger });
 */
export function buildServices(adapters: ServiceAdapters): Services {
  const need = <T>(adapter: T | undefined, name: string, service: string): T => {
    if (adapter === undefined) throw new MissingAdapterError(name, service);
    return adapter;
  };
  const once = <T>(make: () => T) => {
    let built: T | undefined;
    return () => {
      built ??= make();
      return built;
    };
  };
  const secrets = (service: string) => need(adapters.secrets, 'secret box', service);
  // Runs read jobs without the job service's scheduler: the webhook, dispatch and worker functions have none.
  const jobs = jobReader(adapters.jobs);
  const schedules = once(
    () => new ScheduleSync({ ...adapters, scheduler: need(adapters.scheduler, 'scheduler', 'schedule') }),
  );
  const runEventSetting = adapters.runEventSetting ?? awsDefaults.runEvents;
  const runEvents = once(
    () =>
      new RunEvents({
        ...adapters,
        setting: runEventSetting,
        get publicBaseUrl() {
          return adapters.deployment.publicBaseUrl;
        },
      }),
  );
  const alerting = once(() =>
    buildAlerting({
      ...adapters,
      runEvents: runEvents(),
      secrets: secrets('alerting'),
      alerts: need(adapters.alertStore, 'alert store', 'alerting'),
      channels: need(adapters.channelStore, 'channel store', 'alerting'),
      notifier: need(adapters.notifier, 'channel notifier', 'alerting'),
    }),
  );
  // Where alerting is wired, every run's end reaches it; a worker's failure to tell it fails the message,
  // which comes back and tells it again (a callback or a cancel has already answered: it is logged).
  // Queued and started runs go on the bus from the store too, where the setting asks for them.
  const observed = (rethrow: boolean) => {
    const ends =
      adapters.alertStore === undefined
        ? adapters.executions
        : alerting().observed(adapters.executions, { rethrow });
    return adapters.events !== undefined && runEventsFromStarts(runEventSetting)
      ? publishRunStarts(ends, runEvents())
      : ends;
  };
  const runs = once(
    () =>
      new RunService({
        ...adapters,
        executions: observed(false),
        jobs,
        retentionDays: need(adapters.retentionDays, 'retention period', 'run'),
      }),
  );
  const audit = once(
    () =>
      new AuditTrail({
        ...adapters,
        audit: need(adapters.auditLog, 'audit log', 'audit'),
        // Entries are kept as long as the runs they sit beside.
        retentionDays: need(adapters.retentionDays, 'retention period', 'audit'),
      }),
  );
  const services = {
    jobs: once(
      () => new JobService({ ...adapters, secrets: secrets('job'), schedules: schedules(), audit: audit() }),
    ),
    entities: once(() => new EntityService({ ...adapters, secrets: secrets('entity'), audit: audit() })),
    runs,
    webhooks: once(
      () =>
        new WebhookService({
          ...adapters,
          runs: runs(),
          jobs,
          secrets: secrets('webhook'),
          rateLimiter: need(adapters.rateLimiter, 'rate limiter', 'webhook'),
        }),
    ),
    webhookSecrets: once(
      () =>
        new WebhookSecretService({ ...adapters, jobs, secrets: secrets('webhook secret'), audit: audit() }),
    ),
    audit,
    apiKeys: once(
      () =>
        new ApiKeyService({
          ...adapters,
          apiKeyStore: need(adapters.apiKeyStore, 'API key store', 'API key'),
          apiKeys: need(adapters.deploymentKeys, 'deployment key', 'API key'),
          audit: audit(),
        }),
    ),
    schedules,
    alerting,
    worker: once(
      () =>
        new RunWorker({
          ...adapters,
          executions: observed(true),
          secrets: secrets('worker'),
          invoker: need(adapters.invoker, 'target invoker', 'worker'),
        }),
    ),
  };
  return {
    get jobs() {
      return services.jobs();
    },
    get entities() {
      return services.entities();
    },
    get runs() {
      return services.runs();
    },
    get webhooks() {
      return services.webhooks();
    },
    get webhookSecrets() {
      return services.webhookSecrets();
    },
    get schedules() {
      return services.schedules();
    },
    get worker() {
      return services.worker();
    },
    get audit() {
      return services.audit();
    },
    get apiKeys() {
      return services.apiKeys();
    },
    get alerting() {
      return services.alerting();
    },
  };
}

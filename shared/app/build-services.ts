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
  /** How long execution records (and audit entries, kept as long) are kept (days): whatever starts runs or writes the trail. */
  retentionDays?: number;
  /** Seals and opens webhook and entity signing secrets: job and entity writes, deliveries, the worker. */
  secrets?: SecretBox;
  /** Cron schedules (EventBridge Scheduler on AWS, in process locally): job writes and reconciliation. */
  scheduler?: Scheduler;
  /** A webhook job's `webhook_rate_limit`: deliveries. */
  rateLimiter?: RateLimiter;
  /** Invokes entities' targets: the worker. */
  invoker?: TargetInvoker;
  /**
   * Where the audit trail is kept: whatever changes jobs, entities or API keys (the API), and wherever
   * alerting runs (it pauses jobs: the API, the workers, the sweeper).
   */
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

const need = <T>(adapter: T | undefined, name: string, service: string): T => {
  if (adapter === undefined) throw new MissingAdapterError(name, service);
  return adapter;
};

/*
 * One builder per service, each a separate function so that a Lambda bundle holds only the services its
 * function builds (esbuild drops the builders, and the services, nobody calls). A service another needs is
 * handed over built, so a runtime that builds several shares one of each.
 */

/** A job's schedules (needs the scheduler). */
export function buildScheduleSync(adapters: ServiceAdapters): ScheduleSync {
  return new ScheduleSync({ ...adapters, scheduler: need(adapters.scheduler, 'scheduler', 'schedule') });
}

/** Run state changes on the deployment's bus (`events`), those its `runEventSetting` asks for. */
export function buildRunEvents(adapters: ServiceAdapters): RunEvents {
  return new RunEvents({
    ...adapters,
    setting: adapters.runEventSetting ?? awsDefaults.runEvents,
    get publicBaseUrl() {
      return adapters.deployment.publicBaseUrl;
    },
  });
}

/** What hears of runs' changes where they are recorded: alerting, and the bus through `runEvents`. */
export interface RunObservers {
  alerting?: Alerting;
  runEvents?: RunEvents;
}

/**
 * The execution store a run path records in. Given `alerting`, every run's end reaches it (`rethrow`: a
 * failure to tell it throws, in the workers, so the message comes back and tells it again; elsewhere a
 * callback or a cancel has already answered, and it is logged). Queued and started runs go on the bus
 * from the store too, where the setting asks for them and the runtime gives a bus.
 */
function recordingExecutions(adapters: ServiceAdapters, observers: RunObservers, rethrow: boolean) {
  const ends = observers.alerting?.observed(adapters.executions, { rethrow }) ?? adapters.executions;
  return adapters.events !== undefined &&
    runEventsFromStarts(adapters.runEventSetting ?? awsDefaults.runEvents)
    ? publishRunStarts(ends, observers.runEvents ?? buildRunEvents(adapters))
    : ends;
}

/**
 * Alerting (needs the alert store, the channel store, the notifier and the secret box); run ends go on
 * the bus through `runEvents` (one of its own if not given).
 */
export function buildAlertingServices(
  adapters: ServiceAdapters,
  built: { runEvents?: RunEvents; audit?: AuditTrail } = {},
): Alerting {
  return buildAlerting({
    ...adapters,
    runEvents: built.runEvents ?? buildRunEvents(adapters),
    // Alerting pauses jobs, and says so in their trail.
    audit: built.audit ?? buildAuditTrail(adapters),
    secrets: need(adapters.secrets, 'secret box', 'alerting'),
    alerts: need(adapters.alertStore, 'alert store', 'alerting'),
    channels: need(adapters.channelStore, 'channel store', 'alerting'),
    notifier: need(adapters.notifier, 'channel notifier', 'alerting'),
  });
}

/** Runs (needs the retention period), their changes told to `observers` (see recordingExecutions). */
export function buildRunService(adapters: ServiceAdapters, observers: RunObservers = {}): RunService {
  return new RunService({
    ...adapters,
    executions: recordingExecutions(adapters, observers, false),
    // Runs read jobs without the job service's scheduler: the webhook, dispatch and worker functions have none.
    jobs: jobReader(adapters.jobs),
    retentionDays: need(adapters.retentionDays, 'retention period', 'run'),
  });
}

/**
 * One attempt of one run (needs the secret box and the target invoker), its changes told to `observers`; a
 * failure to tell alerting of an end fails the message (see recordingExecutions).
 */
export function buildRunWorker(adapters: ServiceAdapters, observers: RunObservers = {}): RunWorker {
  return new RunWorker({
    ...adapters,
    executions: recordingExecutions(adapters, observers, true),
    secrets: need(adapters.secrets, 'secret box', 'worker'),
    invoker: need(adapters.invoker, 'target invoker', 'worker'),
  });
}

/** Who changed what (needs the audit log and the retention period). */
export function buildAuditTrail(adapters: ServiceAdapters): AuditTrail {
  return new AuditTrail({
    ...adapters,
    audit: need(adapters.auditLog, 'audit log', 'audit'),
    // Entries are kept as long as the runs they sit beside.
    retentionDays: need(adapters.retentionDays, 'retention period', 'audit'),
  });
}

/** Webhook deliveries (needs the secret box and the rate limiter): each starts a run through `runs`. */
export function buildWebhookService(adapters: ServiceAdapters, built: { runs: RunService }): WebhookService {
  return new WebhookService({
    ...adapters,
    runs: built.runs,
    jobs: jobReader(adapters.jobs),
    secrets: need(adapters.secrets, 'secret box', 'webhook'),
    rateLimiter: need(adapters.rateLimiter, 'rate limiter', 'webhook'),
  });
}

/**
 * The one place services are constructed, for a runtime that serves everything (the API function, the
 * local runtime, the tests): each on first use, once, from `adapters`, by the builders above, which the
 * other Lambda functions (functions/aws-deps.ts) call themselves for the few services they use.
 *
 * @example
 * const services = buildServices({ jobs, entities, executions, webhooks, queue, secrets, deployment,
 *   clock, ids, logger, metrics, retentionDays: 90, scheduler, auditLog, apiKeyStore, deploymentKeys });
 * const handler = makeApiHandler({ services, clock, logger });
 * const worker = makeWorkerHandler({ worker: services.worker, logger });
 */
export function buildServices(adapters: ServiceAdapters): Services {
  const once = <T>(make: () => T) => {
    let built: T | undefined;
    return () => {
      built ??= make();
      return built;
    };
  };
  const audit = once(() => buildAuditTrail(adapters));
  const runEvents = once(() => buildRunEvents(adapters));
  const alerting = once(() => buildAlertingServices(adapters, { runEvents: runEvents(), audit: audit() }));
  // Where alerting is wired, every run's end reaches it.
  const observers = (): RunObservers => ({
    ...(adapters.alertStore !== undefined && { alerting: alerting() }),
    runEvents: runEvents(),
  });
  const schedules = once(() => buildScheduleSync(adapters));
  const runs = once(() => buildRunService(adapters, observers()));
  const services = {
    jobs: once(
      () =>
        new JobService({
          ...adapters,
          secrets: need(adapters.secrets, 'secret box', 'job'),
          schedules: schedules(),
          audit: audit(),
        }),
    ),
    entities: once(
      () =>
        new EntityService({
          ...adapters,
          secrets: need(adapters.secrets, 'secret box', 'entity'),
          audit: audit(),
        }),
    ),
    runs,
    webhooks: once(() => buildWebhookService(adapters, { runs: runs() })),
    webhookSecrets: once(
      () =>
        new WebhookSecretService({
          ...adapters,
          jobs: jobReader(adapters.jobs),
          secrets: need(adapters.secrets, 'secret box', 'webhook secret'),
          audit: audit(),
        }),
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
    worker: once(() => buildRunWorker(adapters, observers())),
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

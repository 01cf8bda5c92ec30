import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsTargetAdapters } from '../shared/adapters/aws/aws-target-adapters.js';
import { DynamoAlertStore } from '../shared/adapters/aws/dynamo-alert-store.js';
import { DynamoApiKeyStore } from '../shared/adapters/aws/dynamo-api-key-store.js';
import { DynamoAuditLog } from '../shared/adapters/aws/dynamo-audit-log.js';
import { DynamoChannelStore } from '../shared/adapters/aws/dynamo-channel-store.js';
import { DynamoEntityStore } from '../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { DynamoRateLimiter } from '../shared/adapters/aws/dynamo-rate-limiter.js';
import { DynamoWebhookStore } from '../shared/adapters/aws/dynamo-webhook-store.js';
import { EventBridgePublisher } from '../shared/adapters/aws/eventbridge-publisher.js';
import { EventBridgeScheduler } from '../shared/adapters/aws/eventbridge-scheduler.js';
import { KmsSecretBox } from '../shared/adapters/aws/kms-secret-box.js';
import { SecretsManagerApiKeys } from '../shared/adapters/aws/secrets-manager-api-keys.js';
import { SnsTopicPublisher } from '../shared/adapters/aws/sns-topic-publisher.js';
import { SqsRunQueue } from '../shared/adapters/aws/sqs-run-queue.js';
import { CachingSecretBox } from '../shared/adapters/caching-secret-box.js';
import { createChannelNotifier } from '../shared/adapters/channel-notifier.js';
import { createLogger } from '../shared/adapters/logger.js';
import { createMetrics } from '../shared/adapters/metrics.js';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { createTargetInvoker } from '../shared/adapters/target-invoker.js';
import {
  buildAlertingServices,
  buildRunEvents,
  buildRunService,
  buildRunWorker,
  buildScheduleSync,
  buildServices,
  buildWebhookService,
  type ServiceAdapters,
} from '../shared/app/build-services.js';
import type {
  DeploymentVariable,
  EnvironmentRead,
  runVariables,
  schedulingVariables,
} from '../shared/config/environment.js';
import { apiEnvironment } from '../shared/config/environments/api-environment.js';
import { dispatchEnvironment } from '../shared/config/environments/dispatch-environment.js';
import { sweeperEnvironment } from '../shared/config/environments/sweeper-environment.js';
import { webhookEnvironment } from '../shared/config/environments/webhook-environment.js';
import { workerEnvironment } from '../shared/config/environments/worker-environment.js';
import { runEventsFromStarts } from '../shared/domain/run-events.js';
import type { DispatchHandlerDeps } from '../shared/handlers/dispatch-handler.js';
import type { SweeperDeps } from '../shared/handlers/sweeper-handler.js';
import type { WebhookHandlerDeps } from '../shared/handlers/webhook-handler.js';
import type { WorkerHandlerDeps } from '../shared/handlers/worker-handler.js';
import type { ApiDeps } from '../shared/http/api-handler.js';
import { OPENAPI_DOCUMENT_FILE, openApiDocumentFile } from '../shared/http/openapi-file.js';
import type { DeploymentConfig, Scheduler } from '../shared/ports.js';
import type { ClientTracing } from './tracing.js';

/**
 * The AWS composition root: each function chooses its adapters from its environment, read through that
 * function's environment contract (shared/config/environments/), builds its clients once (recorded by X-Ray
 * when the deployment traces), and hands them to shared/app/build-services.ts, the one place services are
 * made: the API to `buildServices`, every other function to the builders of only the services it uses, so
 * its bundle holds no other; its
 * handler gets the services. Each builder takes the environment to read (the process's by default) and
 * reads nothing else from it.
 */
type Env = Readonly<Record<string, string | undefined>>;

/** `client`, recorded as X-Ray subsegments when the deployment traces. */
function traced<T>(client: T, tracing: ClientTracing | undefined): T {
  return tracing ? tracing.captureClient(client) : client;
}

/**
 * The deployment as the stack wrote it, and where targets call back to: the worker's public base URL, or none
 * for the functions that never build a callback URL (the API derives its own from each request).
 */
export function deploymentConfigOf(deployment: DeploymentVariable, publicBaseUrl = ''): DeploymentConfig {
  return { ...deployment, open: false, publicBaseUrl };
}

function common(
  env: EnvironmentRead<typeof runVariables>,
  tracing: ClientTracing | undefined,
  publicBaseUrl?: string,
) {
  const documents = DynamoDBDocumentClient.from(traced(new DynamoDBClient({}), tracing));
  const { tableName } = env;
  const logger = createLogger({ level: env.logLevel });
  const queue = new SqsRunQueue(traced(new SQSClient({}), tracing), env.queueUrls);
  const adapters: ServiceAdapters = {
    jobs: new DynamoJobStore(documents, tableName),
    entities: new DynamoEntityStore(documents, tableName),
    executions: new DynamoExecutionStore(documents, tableName),
    webhooks: new DynamoWebhookStore(documents, tableName),
    queue,
    deployment: deploymentConfigOf(env.deployment, publicBaseUrl),
    clock: systemClock,
    ids: randomIds,
    logger,
    metrics: createMetrics({ logger }),
    runEventSetting: env.runEvents,
  };
  return { documents, queue, adapters };
}

/** The stack's schedule group, with dispatch as every schedule's target (API and sweeper). */
function scheduler(
  env: EnvironmentRead<typeof schedulingVariables>,
  tracing: ClientTracing | undefined,
): Scheduler {
  return new EventBridgeScheduler(traced(new SchedulerClient({}), tracing), {
    groupName: env.scheduleGroupName,
    targetArn: env.dispatchFunctionArn,
    roleArn: env.schedulerRoleArn,
    deadLetterArn: env.schedulerDeadLetterArn,
  });
}

/**
 * Alerting's adapters: its state, outbox and channels in the table, run ends and alert events on the
 * deployment's EventBridge bus, webhook channels through the same address guard as http targets, and `sns`
 * channels to the topics the deployment allows where the function sends notifications (`publishes`: the API's
 * test sends, the sweeper's outbox).
 */
function alertingAdapters(
  documents: DynamoDBDocumentClient,
  env: EnvironmentRead<typeof runVariables>,
  tracing: ClientTracing | undefined,
  { publishes }: { publishes: boolean },
): Pick<ServiceAdapters, 'alertStore' | 'channelStore' | 'notifier' | 'events'> {
  return {
    alertStore: new DynamoAlertStore(documents, env.tableName),
    channelStore: new DynamoChannelStore(documents, env.tableName),
    notifier: createChannelNotifier({
      allowedNetworks: env.deployment.allowedTargetNetworks,
      ...(publishes && { topics: new SnsTopicPublisher(traced(new SNSClient({}), tracing)) }),
    }),
    events: eventBus(env, tracing),
  };
}

/** The deployment's bus, where run state changes and alert events go. */
function eventBus(env: EnvironmentRead<typeof runVariables>, tracing: ClientTracing | undefined) {
  return new EventBridgePublisher(traced(new EventBridgeClient({}), tracing), env.deployment.eventBusName);
}

/** The bus for a function that only starts runs: only when the deployment puts queued runs on it. */
function startsOnBus(
  env: EnvironmentRead<typeof runVariables>,
  tracing: ClientTracing | undefined,
): Pick<ServiceAdapters, 'events'> {
  return runEventsFromStarts(env.runEvents) ? { events: eventBus(env, tracing) } : {};
}

/** Sealed secrets under the deployment's key; cached for a few minutes where every request opens one. */
function kmsSecrets(keyArn: string, tracing: ClientTracing | undefined, { cached }: { cached: boolean }) {
  const box = new KmsSecretBox(traced(new KMSClient({}), tracing), keyArn);
  return cached ? new CachingSecretBox(box) : box;
}

export function awsApiDeps(tracing?: ClientTracing, processEnv: Env = process.env): ApiDeps {
  const env = apiEnvironment.read(processEnv);
  const { documents, adapters } = common(env, tracing);
  return {
    services: buildServices({
      ...adapters,
      scheduler: scheduler(env, tracing),
      secrets: kmsSecrets(env.secretsKeyArn, tracing, { cached: false }),
      retentionDays: env.executionRetentionDays,
      auditLog: new DynamoAuditLog(documents, env.tableName),
      apiKeyStore: new DynamoApiKeyStore(documents, env.tableName),
      deploymentKeys: new SecretsManagerApiKeys(
        traced(new SecretsManagerClient({}), tracing),
        env.apiKeySecretArn,
      ),
      // Channels, test sends, the jobs' alert counters; a callback or a cancel ends a run here.
      ...alertingAdapters(documents, env, tracing, { publishes: true }),
    }),
    clock: adapters.clock,
    logger: adapters.logger,
    authMode: env.authMode,
    // Beside the bundle, where the stack copies the committed document.
    openApiDocument: openApiDocumentFile(new URL(`./${OPENAPI_DOCUMENT_FILE}`, import.meta.url)),
  };
}

/** The webhook function: verification needs only the sealed secrets, the job and a run's writes. */
export function awsWebhookDeps(tracing?: ClientTracing, processEnv: Env = process.env): WebhookHandlerDeps {
  const env = webhookEnvironment.read(processEnv);
  const { documents, adapters } = common(env, tracing);
  const withDeliveries: ServiceAdapters = {
    ...adapters,
    rateLimiter: new DynamoRateLimiter(documents, env.tableName, systemClock),
    secrets: kmsSecrets(env.secretsKeyArn, tracing, { cached: true }),
    retentionDays: env.executionRetentionDays,
    ...startsOnBus(env, tracing),
  };
  const webhooks = buildWebhookService(withDeliveries, { runs: buildRunService(withDeliveries) });
  return { webhooks, logger: adapters.logger, metrics: adapters.metrics };
}

/** A worker function, and the receive count on which it ends a run as failed (the queue's redrive count). */
export function awsWorkerDeps(
  tracing?: ClientTracing,
  processEnv: Env = process.env,
): {
  deps: WorkerHandlerDeps;
  maxReceiveCount: number;
} {
  const env = workerEnvironment.read(processEnv);
  const { documents, queue, adapters } = common(env, tracing, env.publicBaseUrl);
  const withTargets: ServiceAdapters = {
    ...adapters,
    // Every run's end is counted for alerting and put on the bus; the worker sends no notification.
    ...alertingAdapters(documents, env, tracing, { publishes: false }),
    secrets: kmsSecrets(env.secretsKeyArn, tracing, { cached: true }),
    // A job paused after failed runs is recorded in its trail.
    auditLog: new DynamoAuditLog(documents, env.tableName),
    retentionDays: env.executionRetentionDays,
    invoker: createTargetInvoker({
      ...awsTargetAdapters({ wrap: (client) => traced(client, tracing) }),
      allowedNetworks: adapters.deployment.allowedTargetNetworks,
    }),
  };
  const runEvents = buildRunEvents(withTargets);
  const alerting = buildAlertingServices(withTargets, { runEvents });
  return {
    deps: {
      worker: buildRunWorker(withTargets, { alerting, runEvents }),
      logger: adapters.logger,
      // A message for a run held by a live worker comes back when that worker's lease ends.
      visibility: queue,
    },
    maxReceiveCount: env.maxReceiveCount,
  };
}

export function awsSweeperDeps(tracing?: ClientTracing, processEnv: Env = process.env): SweeperDeps {
  const env = sweeperEnvironment.read(processEnv);
  const { documents, adapters } = common(env, tracing);
  const withSweeps: ServiceAdapters = {
    ...adapters,
    scheduler: scheduler(env, tracing),
    retentionDays: env.executionRetentionDays,
    // Missed fires, overdue runs and the outbox, which opens channels' secrets: cached, as every send opens one.
    ...alertingAdapters(documents, env, tracing, { publishes: true }),
    secrets: kmsSecrets(env.secretsKeyArn, tracing, { cached: true }),
    // A run the sweep ends as failed may pause its job, which is recorded in its trail.
    auditLog: new DynamoAuditLog(documents, env.tableName),
  };
  const runEvents = buildRunEvents(withSweeps);
  const alerting = buildAlertingServices(withSweeps, { runEvents });
  return {
    runs: buildRunService(withSweeps, { alerting, runEvents }),
    schedules: buildScheduleSync(withSweeps),
    alerting,
    logger: adapters.logger,
  };
}

/** The dispatch function: reads the job and starts its run, as the webhook function does. */
export function awsDispatchDeps(tracing?: ClientTracing, processEnv: Env = process.env): DispatchHandlerDeps {
  const env = dispatchEnvironment.read(processEnv);
  const { adapters } = common(env, tracing);
  return {
    runs: buildRunService({
      ...adapters,
      retentionDays: env.executionRetentionDays,
      ...startsOnBus(env, tracing),
    }),
    logger: adapters.logger,
  };
}

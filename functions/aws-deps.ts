import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAlertStore } from '../shared/adapters/aws/dynamo-alert-store.js';
import { DynamoChannelStore } from '../shared/adapters/aws/dynamo-channel-store.js';
import { DynamoEntityStore } from '../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { DynamoRateLimiter } from '../shared/adapters/aws/dynamo-rate-limiter.js';
import { DynamoWebhookStore } from '../shared/adapters/aws/dynamo-webhook-store.js';
import { EventBridgePublisher } from '../shared/adapters/aws/eventbridge-publisher.js';
import { EventBridgeScheduler } from '../shared/adapters/aws/eventbridge-scheduler.js';
import { KmsSecretBox } from '../shared/adapters/aws/kms-secret-box.js';
import { LambdaTargetInvoker } from '../shared/adapters/aws/lambda-target.js';
import { SecretsManagerApiKeys } from '../shared/adapters/aws/secrets-manager-api-keys.js';
import { SnsTopicPublisher } from '../shared/adapters/aws/sns-topic-publisher.js';
import { SqsRunQueue } from '../shared/adapters/aws/sqs-run-queue.js';
import { CachingSecretBox } from '../shared/adapters/caching-secret-box.js';
import { createChannelNotifier } from '../shared/adapters/channel-notifier.js';
import { createLogger } from '../shared/adapters/logger.js';
import { createMetrics } from '../shared/adapters/metrics.js';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { createTargetInvoker } from '../shared/adapters/target-invoker.js';
import { type Alerting, buildAlerting } from '../shared/app/alerting.js';
import { jobReader } from '../shared/app/job-service.js';
import type { RunServiceDeps } from '../shared/app/run-service.js';
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
import type { SweeperDeps } from '../shared/handlers/sweeper-handler.js';
import type { WebhookHandlerDeps } from '../shared/handlers/webhook-handler.js';
import type { WorkerHandlerDeps } from '../shared/handlers/worker-handler.js';
import type { ApiDeps } from '../shared/http/api-handler.js';
import { OPENAPI_DOCUMENT_FILE, openApiDocumentFile } from '../shared/http/openapi-file.js';
import type { DeploymentConfig, Scheduler, SecretBox } from '../shared/ports.js';
import type { ClientTracing } from './tracing.js';

/**
 * The AWS composition root: adapters chosen from the function's environment, read through that function's
 * environment contract (shared/config/environments/), clients built once (and recorded by X-Ray when the
 * deployment traces). Each builder takes the environment to read (the process's by default) and reads
 * nothing else from it.
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
  return {
    documents,
    jobStore: new DynamoJobStore(documents, tableName),
    entities: new DynamoEntityStore(documents, tableName),
    executions: new DynamoExecutionStore(documents, tableName),
    webhooks: new DynamoWebhookStore(documents, tableName),
    rateLimiter: new DynamoRateLimiter(documents, tableName, systemClock),
    queue: new SqsRunQueue(traced(new SQSClient({}), tracing), env.queueUrls),
    deployment: deploymentConfigOf(env.deployment, publicBaseUrl),
    clock: systemClock,
    ids: randomIds,
    logger,
    metrics: createMetrics({ logger }),
  };
}

/**
 * Alerting over the function's stores: run ends and alert events on the deployment's EventBridge bus, webhook
 * channels through the same address guard as http targets, `sns` channels to the topics the deployment allows
 * (where `publishes`: the API's test sends and the sweeper's outbox).
 */
function alerting(
  built: ReturnType<typeof common>,
  env: EnvironmentRead<typeof runVariables>,
  secrets: SecretBox,
  tracing: ClientTracing | undefined,
  publishes: boolean,
): Alerting {
  const { documents, jobStore, ...rest } = built;
  const { tableName } = env;
  return buildAlerting({
    ...rest,
    jobs: jobStore,
    secrets,
    alerts: new DynamoAlertStore(documents, tableName),
    channels: new DynamoChannelStore(documents, tableName),
    notifier: createChannelNotifier({
      allowedNetworks: rest.deployment.allowedTargetNetworks,
      ...(publishes && { topics: new SnsTopicPublisher(traced(new SNSClient({}), tracing)) }),
    }),
    events: new EventBridgePublisher(traced(new EventBridgeClient({}), tracing), env.deployment.eventBusName),
  });
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

export function awsApiDeps(tracing?: ClientTracing, processEnv: Env = process.env): ApiDeps {
  const env = apiEnvironment.read(processEnv);
  const built = common(env, tracing);
  const { jobStore, documents: _documents, ...rest } = built;
  const secrets = new KmsSecretBox(traced(new KMSClient({}), tracing), env.secretsKeyArn);
  const alerts = alerting(built, env, secrets, tracing, true);
  return {
    ...rest,
    // A callback or a cancel ends a run here: the alert service hears of it.
    executions: alerts.observed(rest.executions, { rethrow: false }),
    alerting: { channels: alerts.channels, alerts: alerts.alerts },
    jobs: jobStore,
    scheduler: scheduler(env, tracing),
    secrets,
    apiKeys: new SecretsManagerApiKeys(traced(new SecretsManagerClient({}), tracing), env.apiKeySecretArn),
    // Beside the bundle, where the stack copies the committed document.
    openApiDocument: openApiDocumentFile(new URL(`./${OPENAPI_DOCUMENT_FILE}`, import.meta.url)),
    retentionDays: env.executionRetentionDays,
  };
}

/** The webhook function: verification needs only the sealed secrets, the job and a run's writes. */
export function awsWebhookDeps(tracing?: ClientTracing, processEnv: Env = process.env): WebhookHandlerDeps {
  const env = webhookEnvironment.read(processEnv);
  const { jobStore, documents: _documents, ...rest } = common(env, tracing);
  return {
    ...rest,
    jobs: jobReader(jobStore),
    // Every delivery opens its job's secret: cached for a few minutes rather than a KMS call each time.
    secrets: new CachingSecretBox(new KmsSecretBox(traced(new KMSClient({}), tracing), env.secretsKeyArn)),
    retentionDays: env.executionRetentionDays,
  };
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
  const built = common(env, tracing, env.publicBaseUrl);
  const { jobStore: _jobs, ids: _ids, metrics: _metrics, documents: _documents, ...rest } = built;
  const secrets = new CachingSecretBox(
    new KmsSecretBox(traced(new KMSClient({}), tracing), env.secretsKeyArn),
  );
  return {
    deps: {
      ...rest,
      // Every end of a run is counted for alerting; a failure to record it fails the message, which comes back.
      executions: alerting(built, env, secrets, tracing, false).observed(rest.executions, { rethrow: true }),
      // A message for a run held by a live worker comes back when that worker's lease ends.
      visibility: rest.queue,
      secrets,
      invoker: createTargetInvoker({
        lambda: new LambdaTargetInvoker(traced(new LambdaClient({}), tracing)),
        allowedNetworks: rest.deployment.allowedTargetNetworks,
      }),
    },
    maxReceiveCount: env.maxReceiveCount,
  };
}

export function awsSweeperDeps(tracing?: ClientTracing, processEnv: Env = process.env): SweeperDeps {
  const env = sweeperEnvironment.read(processEnv);
  const built = common(env, tracing);
  const { jobStore, documents: _documents, ...rest } = built;
  // The outbox opens each channel's secret: cached for a few minutes rather than a KMS call per notification.
  const secrets = new CachingSecretBox(
    new KmsSecretBox(traced(new KMSClient({}), tracing), env.secretsKeyArn),
  );
  return {
    ...rest,
    alerting: alerting(built, env, secrets, tracing, true),
    jobs: jobReader(jobStore),
    jobStore,
    scheduler: scheduler(env, tracing),
    retentionDays: env.executionRetentionDays,
  };
}

/** The dispatch function: reads the job and starts its run, as the webhook function does. */
export function awsDispatchDeps(tracing?: ClientTracing, processEnv: Env = process.env): RunServiceDeps {
  const env = dispatchEnvironment.read(processEnv);
  const { jobStore, documents: _documents, ...rest } = common(env, tracing);
  return { ...rest, jobs: jobReader(jobStore), retentionDays: env.executionRetentionDays };
}

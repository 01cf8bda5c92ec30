import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { DynamoEntityStore } from '../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { DynamoRateLimiter } from '../shared/adapters/aws/dynamo-rate-limiter.js';
import { DynamoWebhookStore } from '../shared/adapters/aws/dynamo-webhook-store.js';
import { EventBridgeScheduler } from '../shared/adapters/aws/eventbridge-scheduler.js';
import { KmsSecretBox } from '../shared/adapters/aws/kms-secret-box.js';
import { LambdaTargetInvoker } from '../shared/adapters/aws/lambda-target.js';
import { SecretsManagerApiKeys } from '../shared/adapters/aws/secrets-manager-api-keys.js';
import { SqsRunQueue } from '../shared/adapters/aws/sqs-run-queue.js';
import { CachingSecretBox } from '../shared/adapters/caching-secret-box.js';
import { createLogger, parseLogLevel } from '../shared/adapters/logger.js';
import { createMetrics } from '../shared/adapters/metrics.js';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { createTargetInvoker } from '../shared/adapters/target-invoker.js';
import { jobReader } from '../shared/app/jobs.js';
import type { RunServiceDeps } from '../shared/app/runs.js';
import { TargetNetworkSchema } from '../shared/domain/target-network.js';
import type { SweeperDeps } from '../shared/handlers/sweeper-handler.js';
import type { WebhookHandlerDeps } from '../shared/handlers/webhook-handler.js';
import type { WorkerHandlerDeps } from '../shared/handlers/worker-handler.js';
import type { ApiDeps } from '../shared/http/api-handler.js';
import type { DeploymentConfig, Scheduler } from '../shared/ports.js';
import type { ClientTracing } from './tracing.js';

/** The AWS composition root: adapters chosen from the function's environment, clients built once. */
function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

const DeploymentEnvSchema = z.object({
  defaultQueue: z.string(),
  queues: z.array(z.string()),
  environments: z.record(
    z.string(),
    z.object({ queue: z.string(), variables: z.record(z.string(), z.string()) }),
  ),
  // Required: a DEPLOYMENT_CONFIG without it was not written by this stack, and guessing would guess wide.
  allowedTargetNetworks: z.array(TargetNetworkSchema),
});

/**
 * The deployment as the stack wrote it into `DEPLOYMENT_CONFIG` (see `runEnvironment` in infra/aws/stack.ts).
 * @throws when a variable is missing or not what the stack writes
 */
export function deploymentConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DeploymentConfig {
  const text = env.DEPLOYMENT_CONFIG;
  if (!text) throw new Error('Environment variable DEPLOYMENT_CONFIG is not set');
  const parsed = DeploymentEnvSchema.parse(JSON.parse(text));
  return { ...parsed, open: false, publicBaseUrl: env.PUBLIC_BASE_URL ?? '' };
}

/** `client`, recorded as X-Ray subsegments when the deployment traces. */
function traced<T>(client: T, tracing: ClientTracing | undefined): T {
  return tracing ? tracing.captureClient(client) : client;
}

function common(tracing: ClientTracing | undefined) {
  const documents = DynamoDBDocumentClient.from(traced(new DynamoDBClient({}), tracing));
  const logger = createLogger({ level: parseLogLevel(process.env.LOG_LEVEL) });
  const tableName = requireEnv('TABLE_NAME');
  const queueUrls = z.record(z.string(), z.string()).parse(JSON.parse(requireEnv('QUEUE_URLS')));
  return {
    jobStore: new DynamoJobStore(documents, tableName),
    entities: new DynamoEntityStore(documents, tableName),
    executions: new DynamoExecutionStore(documents, tableName),
    webhooks: new DynamoWebhookStore(documents, tableName),
    rateLimiter: new DynamoRateLimiter(documents, tableName, systemClock),
    queue: new SqsRunQueue(traced(new SQSClient({}), tracing), queueUrls),
    deployment: deploymentConfigFromEnv(),
    clock: systemClock,
    ids: randomIds,
    logger,
    metrics: createMetrics({ logger }),
    retentionDays: Number(process.env.EXECUTION_RETENTION_DAYS ?? 90),
  };
}

/** The stack's schedule group, with dispatch as every schedule's target (API and sweeper). */
function scheduler(tracing: ClientTracing | undefined): Scheduler {
  return new EventBridgeScheduler(traced(new SchedulerClient({}), tracing), {
    groupName: requireEnv('SCHEDULE_GROUP_NAME'),
    targetArn: requireEnv('DISPATCH_FUNCTION_ARN'),
    roleArn: requireEnv('SCHEDULER_ROLE_ARN'),
    deadLetterArn: requireEnv('SCHEDULER_DLQ_ARN'),
  });
}

export function awsApiDeps(tracing?: ClientTracing): ApiDeps {
  const { jobStore, ...rest } = common(tracing);
  return {
    ...rest,
    jobs: jobStore,
    scheduler: scheduler(tracing),
    secrets: new KmsSecretBox(traced(new KMSClient({}), tracing), requireEnv('KMS_KEY_ID')),
    apiKeys: new SecretsManagerApiKeys(
      traced(new SecretsManagerClient({}), tracing),
      requireEnv('API_KEY_SECRET_ARN'),
    ),
  };
}

/** The webhook function: verification needs only the sealed secrets, the job and a run's writes. */
export function awsWebhookDeps(tracing?: ClientTracing): WebhookHandlerDeps {
  const { jobStore, ...rest } = common(tracing);
  return {
    ...rest,
    jobs: jobReader(jobStore),
    // Every delivery opens its job's secret: cached for a few minutes rather than a KMS call each time.
    secrets: new CachingSecretBox(
      new KmsSecretBox(traced(new KMSClient({}), tracing), requireEnv('KMS_KEY_ID')),
    ),
  };
}

export function awsWorkerDeps(tracing?: ClientTracing): WorkerHandlerDeps {
  const {
    jobStore: _jobs,
    retentionDays: _retention,
    ids: _ids,
    metrics: _metrics,
    ...rest
  } = common(tracing);
  return {
    ...rest,
    // A message for a run held by a live worker comes back when that worker's lease ends.
    visibility: rest.queue,
    secrets: new CachingSecretBox(
      new KmsSecretBox(traced(new KMSClient({}), tracing), requireEnv('KMS_KEY_ID')),
    ),
    invoker: createTargetInvoker({
      lambda: new LambdaTargetInvoker(traced(new LambdaClient({}), tracing)),
      allowedNetworks: rest.deployment.allowedTargetNetworks,
    }),
  };
}

export function awsSweeperDeps(tracing?: ClientTracing): SweeperDeps {
  const { jobStore, ...rest } = common(tracing);
  return { ...rest, jobs: jobReader(jobStore), jobStore, scheduler: scheduler(tracing) };
}

/** The dispatch function: reads the job and starts its run, as the webhook function does. */
export function awsDispatchDeps(tracing?: ClientTracing): RunServiceDeps {
  const { jobStore, ...rest } = common(tracing);
  return { ...rest, jobs: jobReader(jobStore) };
}

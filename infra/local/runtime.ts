import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { DynamoAlertStore } from '../../shared/adapters/aws/dynamo-alert-store.js';
import { DynamoApiKeyStore } from '../../shared/adapters/aws/dynamo-api-key-store.js';
import { DynamoAuditLog } from '../../shared/adapters/aws/dynamo-audit-log.js';
import { DynamoChannelStore } from '../../shared/adapters/aws/dynamo-channel-store.js';
import { DynamoEntityStore } from '../../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { DynamoRateLimiter } from '../../shared/adapters/aws/dynamo-rate-limiter.js';
import { DynamoWebhookStore } from '../../shared/adapters/aws/dynamo-webhook-store.js';
import { ensureJobsTable } from '../../shared/adapters/aws/jobs-table.js';
import { createChannelNotifier } from '../../shared/adapters/channel-notifier.js';
import { LocalSecretBox } from '../../shared/adapters/local-secret-box.js';
import {
  createLogger,
  type LogFormat,
  type LogLevel,
  parseLogFormat,
  parseLogLevel,
} from '../../shared/adapters/logger.js';
import { createMetrics, emitToLog } from '../../shared/adapters/metrics.js';
import { randomIds } from '../../shared/adapters/system.js';
import { createTargetInvoker } from '../../shared/adapters/target-invoker.js';
import { buildServices } from '../../shared/app/build-services.js';
import { localDefaults, runDefaults } from '../../shared/config/defaults.js';
import type { TargetNetwork } from '../../shared/domain/target-network.js';
import { makeConsoleHandler } from '../../shared/handlers/console-handler.js';
import { makeDispatchHandler } from '../../shared/handlers/dispatch-handler.js';
import { makeSweeperHandler } from '../../shared/handlers/sweeper-handler.js';
import { makeWebhookHandler } from '../../shared/handlers/webhook-handler.js';
import { makeWorkerHandler } from '../../shared/handlers/worker-handler.js';
import { makeApiHandler } from '../../shared/http/api-handler.js';
import type { Logger } from '../../shared/ports.js';
import { ensureLocalApiKey } from './api-key.js';
import { localAwsRegion } from './aws-access.js';
import { loadLocalDeploymentConfig } from './deployment-config.js';
import {
  type DynamoDbLocal,
  LOCAL_DYNAMODB_CREDENTIALS,
  LOCAL_DYNAMODB_REGION,
  startDynamoDbLocal,
} from './dynamodb-local.js';
import { createLambdaContext, createLocalHttpServer, type LocalHttpServer } from './http-server.js';
import { startIntervalTask } from './interval-task.js';
import { LocalQueues } from './local-queue.js';
import { fileSchedulerCheckpoint, LocalScheduler } from './local-scheduler.js';
import { FileQueueJournal } from './queue-journal.js';
import { systemTimerClock, type TimerClock } from './timer-clock.js';

export interface LocalRuntimeOptions {
  /** Where the API key and DynamoDB Local's data live. @default `$JOBS_DATA_DIR` or `.data` */
  dataDir?: string;
  /** HTTP port; 0 picks a free one (the URL reports it). @default `$PORT` or 3000 */
  port?: number;
  /** @default '127.0.0.1' (not reachable from other machines) */
  host?: string;
  /** An existing DynamoDB to use instead of starting DynamoDB Local. @default `$JOBS_DYNAMODB_ENDPOINT` */
  dynamodbEndpoint?: string;
  /** @default `$JOBS_TABLE_NAME` or 'serverless-jobs' */
  tableName?: string;
  /** @default `$LOG_LEVEL` or 'info' */
  logLevel?: LogLevel;
  /**
   * `pretty` (`08:31:02 INFO  run succeeded job_id=… execution_id=…`, coloured) or `json` (the lines the
   * Lambda functions write). @default `$LOG_FORMAT`, else `pretty` when stdout is a terminal, else `json`
   */
  logFormat?: LogFormat;
  /** Overrides the logger built from `logLevel` and `logFormat`. */
  logger?: Logger;
  /** Path of a deployment config file declaring queues and environments. @default `$JOBS_CONFIG` or `./jobs.config.json` if present */
  configPath?: string;
  /**
   * Networks besides public addresses that `http` targets may point at; replaces the config file's
   * `allowedTargetNetworks`. @default the config file's, else `['loopback']`
   */
  allowedTargetNetworks?: readonly TargetNetwork[];
  /**
   * The worker's function timeout: a run's lease, so a run whose worker died is taken over this long after
   * its claim; a received queue message becomes visible again 60 s after it. @default `$JOBS_WORKER_TIMEOUT_SECONDS` or 60 s
   */
  workerTimeoutMs?: number;
  /** How often the sweeper runs. @default 5_000 */
  sweepIntervalMs?: number;
  /** Receives before a message moves to its queue's dead-letter list. @default 5 */
  maxReceiveCount?: number;
  /** How long execution records are kept. @default 90 */
  retentionDays?: number;
  /**
   * On stop, how long the workers may take to finish what is queued before the runtime stops anyway
   * (what is left is kept for the next start). @default 15_000
   */
  drainTimeoutMs?: number;
  /** The clock of every handler and of the scheduler's timers (tests move a virtual one). @default the system clock */
  clock?: TimerClock;
  /** The built console served at `/console`. @default this checkout's `dist/console` (`npm run build`) */
  consoleAssetsDir?: string;
  /**
   * The region `lambda`, `stepfunctions`, `sqs` and `eventbridge` targets are called in, with the SDK's standard
   * credentials; null: they fail with an error saying they need AWS. @default `AWS_REGION` when the environment
   * also names credentials (see `localAwsRegion`), else null
   */
  awsRegion?: string | null;
}

export interface LocalRuntime {
  /** Base URL of the API, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** The browser console, `<url>/console`. */
  consoleUrl: string;
  apiKey: string;
  /** True when this start generated the key (first start on this data dir). */
  apiKeyCreated: boolean;
  dataDir: string;
  tableName: string;
  dynamodbEndpoint: string;
  /** The DynamoDB Local process this runtime started, if it started one. */
  dynamodbLocal: DynamoDbLocal | null;
  /** The in-process worker queues (inspectable by tests). */
  queues: LocalQueues;
  /** The in-process scheduler firing cron jobs. */
  scheduler: LocalScheduler;
  /** Networks besides public addresses that `http` targets may point at. */
  allowedTargetNetworks: readonly TargetNetwork[];
  /** Where the AWS target kinds are called, or null when this runtime has no AWS access. */
  awsRegion: string | null;
  /** Runs one sweep now (tests use it instead of waiting for the interval). */
  sweep(): Promise<void>;
  /**
   * Stops taking requests (what arrives meanwhile gets 503), lets the requests in flight finish, stops the
   * scheduler, lets the workers drain the queues for at most `drainTimeoutMs`, then stops the sweeper and
   * DynamoDB Local (if this runtime started it). Idempotent.
   */
  stop(): Promise<void>;
}

export class LocalRuntimeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRuntimeConfigError';
  }
}

const DEFAULT_PORT = 3000;
const DEFAULT_CONSOLE_ASSETS_DIR = fileURLToPath(new URL('../../dist/console', import.meta.url));
const DEFAULT_TABLE_NAME = 'serverless-jobs';

/**
 * The local composition root: DynamoDB Local (or `JOBS_DYNAMODB_ENDPOINT`), the jobs table, the local
 * API key, and the same API handler the Lambda runs, served over HTTP. Explicit options win over the
 * environment. If any step fails, whatever was already started is stopped before the error propagates.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const env = process.env;
  const dataDir = resolve(options.dataDir ?? (env.JOBS_DATA_DIR || '.data'));
  const port = options.port ?? parsePort(env.PORT);
  const host = options.host ?? '127.0.0.1';
  const tableName = options.tableName ?? (env.JOBS_TABLE_NAME || DEFAULT_TABLE_NAME);
  const logger = options.logger ?? terminalLogger(options);
  // No CloudWatch reads embedded metric documents here: each count is a debug line instead.
  const metrics = createMetrics({ logger, emit: emitToLog(logger) });
  const externalEndpoint = options.dynamodbEndpoint ?? (env.JOBS_DYNAMODB_ENDPOINT || undefined);

  // Whatever has started, stopped in this order: no new work comes in, then the work that was accepted
  // is finished, then what it needs goes away.
  const STOP_ORDER = ['server', 'scheduler', 'queues', 'sweeper', 'client', 'dynamodb'] as const;
  const cleanups = new Map<(typeof STOP_ORDER)[number], () => Promise<void>>();
  let stopRequested = false;
  const stopStarted = async () => {
    stopRequested = true;
    for (const step of STOP_ORDER) {
      const cleanup = cleanups.get(step);
      cleanups.delete(step);
      try {
        await cleanup?.();
      } catch (error) {
        logger.error('local runtime cleanup step failed', { step, error });
      }
    }
  };

  try {
    const { key: apiKey, created: apiKeyCreated } = await ensureLocalApiKey(dataDir);
    // Listening first: the handlers are built knowing the URL targets call back to, and a port in use
    // fails the start before anything else is. Requests get 503 until the handlers are in place.
    const server: LocalHttpServer = createLocalHttpServer(null, { logger });
    const url = await server.listen(port, host);
    cleanups.set('server', () => server.close());

    let dynamodbLocal: DynamoDbLocal | null = null;
    let dynamodbEndpoint: string;
    if (externalEndpoint) {
      dynamodbEndpoint = externalEndpoint;
    } else {
      dynamodbLocal = await startDynamoDbLocal({ dataPath: resolve(dataDir, 'dynamodb') });
      const started = dynamodbLocal;
      cleanups.set('dynamodb', () => started.stop());
      dynamodbEndpoint = started.endpoint;
      void started.exited.then((exit) => {
        if (!stopRequested) logger.error('DynamoDB Local exited unexpectedly', { ...exit });
      });
    }

    const client = new DynamoDBClient({
      endpoint: dynamodbEndpoint,
      region: LOCAL_DYNAMODB_REGION,
      credentials: LOCAL_DYNAMODB_CREDENTIALS,
    });
    cleanups.set('client', async () => client.destroy());
    await ensureJobsTable(client, tableName);

    const documents = DynamoDBDocumentClient.from(client);
    const deployment = await loadLocalDeploymentConfig({
      ...(options.configPath !== undefined && { path: options.configPath }),
      publicBaseUrl: url,
    });
    if (options.allowedTargetNetworks !== undefined) {
      deployment.allowedTargetNetworks = options.allowedTargetNetworks;
    }
    const allowedTargetNetworks = deployment.allowedTargetNetworks ?? [];
    // Journaled, so runs acknowledged before a stop or a crash are picked up at the next start.
    const queues = new LocalQueues({
      allowUnknown: deployment.open,
      names: [deployment.defaultQueue, ...deployment.queues],
      logger,
      journal: new FileQueueJournal(resolve(dataDir, 'queues')),
    });
    const restored = await queues.restore();
    if (restored > 0) logger.info('queued runs restored from the last run of the runtime', { restored });
    const clock = options.clock ?? systemTimerClock;

    // The in-process scheduler calls the same dispatch handler as the Lambda at each fire.
    const scheduler = new LocalScheduler({
      clock,
      logger,
      checkpoint: fileSchedulerCheckpoint(resolve(dataDir, 'scheduler-checkpoint')),
      dispatch: async (jobId, scheduledTime) => {
        await dispatchHandler(
          { job_id: jobId, scheduled_time: scheduledTime },
          createLambdaContext({ functionName: 'dispatch', awsRequestId: randomUUID(), timeoutMs: 60_000 }),
        );
      },
    });
    const awsRegion = options.awsRegion === undefined ? localAwsRegion(env) : options.awsRegion;
    // Loaded only with AWS access: a runtime without it never builds an AWS client for a target.
    const awsTargets =
      awsRegion === null
        ? {}
        : (await import('../../shared/adapters/aws/aws-target-adapters.js')).awsTargetAdapters({
            region: awsRegion,
          });
    const executions = new DynamoExecutionStore(documents, tableName);
    // Runs of a previous version's layout are moved before anything reads or fires (the sweeper would do
    // it a few seconds later): on a new table this settles at once that there is nothing to move.
    await executions.upgrade();
    // Every function's services from one set of adapters, as each Lambda builds its own on AWS.
    const services = buildServices({
      jobs: new DynamoJobStore(documents, tableName),
      entities: new DynamoEntityStore(documents, tableName),
      executions,
      webhooks: new DynamoWebhookStore(documents, tableName),
      queue: queues,
      secrets: await LocalSecretBox.fromKeyFile(resolve(dataDir, 'secret-box.key')),
      deployment,
      clock,
      ids: randomIds,
      logger,
      metrics,
      retentionDays: options.retentionDays ?? runDefaults.executionRetentionDays,
      scheduler,
      rateLimiter: new DynamoRateLimiter(documents, tableName, clock),
      invoker: createTargetInvoker({ ...awsTargets, allowedNetworks: allowedTargetNetworks }),
      auditLog: new DynamoAuditLog(documents, tableName),
      apiKeyStore: new DynamoApiKeyStore(documents, tableName),
      // The printed key: `admin`, as the secret's keys are on AWS.
      deploymentKeys: HashedApiKeys.fromKeys([apiKey]),
      // Webhook channels reach the same networks as http targets; no SNS or EventBridge here.
      alertStore: new DynamoAlertStore(documents, tableName),
      channelStore: new DynamoChannelStore(documents, tableName),
      notifier: createChannelNotifier({ allowedNetworks: allowedTargetNetworks }),
    });
    const dispatchHandler = makeDispatchHandler({ runs: services.runs, logger });
    // Fed from the table, then started before the API takes requests, so a job created now starts its
    // schedule from now; fires missed while the runtime was down are found from the checkpoint. A fire due
    // at once is queued and waits for the workers, which start below.
    await services.schedules.restore();
    await scheduler.start();
    cleanups.set('scheduler', () => scheduler.stop());

    server.serve([
      {
        prefix: '/',
        handler: makeApiHandler({ services, clock, logger }),
        functionName: 'api',
      },
      // As on AWS, deliveries go to their own function.
      {
        prefix: '/webhooks/',
        handler: makeWebhookHandler({ webhooks: services.webhooks, logger, metrics }),
        functionName: 'webhook',
      },
      {
        prefix: '/console',
        handler: makeConsoleHandler({
          assetsDir: options.consoleAssetsDir ?? DEFAULT_CONSOLE_ASSETS_DIR,
          logger,
        }),
        functionName: 'console',
      },
    ]);

    const maxReceiveCount = options.maxReceiveCount ?? runDefaults.maxReceiveCount;
    const workerTimeoutMs =
      options.workerTimeoutMs ??
      parseSeconds(
        'JOBS_WORKER_TIMEOUT_SECONDS',
        env.JOBS_WORKER_TIMEOUT_SECONDS,
        localDefaults.workerTimeoutSeconds,
      );
    const worker = makeWorkerHandler(
      { worker: services.worker, logger, visibility: queues },
      { maxReceiveCount },
    );
    queues.start({
      handler: worker,
      functionTimeoutMs: workerTimeoutMs,
      maxReceiveCount,
      onDeadLetter: (queue, message) => {
        // The worker ends the run as failed on its message's last delivery (worker-handler.ts); the message is only logged.
        logger.error('run message moved to the dead-letter list', {
          queue,
          messageId: message.messageId,
          ...message.message,
        });
      },
    });
    const drainTimeoutMs = options.drainTimeoutMs ?? localDefaults.drainTimeoutMs;
    cleanups.set('queues', async () => {
      await queues.drained({ timeoutMs: drainTimeoutMs }).catch((error: unknown) => {
        logger.warn('stopping before the queues drained; what is left runs at the next start', {
          reason: error instanceof Error ? error.message : String(error),
        });
      });
      await queues.stop({ timeoutMs: 2_000 });
    });

    const sweeperHandler = makeSweeperHandler({
      runs: services.runs,
      schedules: services.schedules,
      alerting: services.alerting,
      logger,
    });
    const sweep = async () => {
      await sweeperHandler(
        {} as never,
        createLambdaContext({ functionName: 'sweeper', awsRequestId: randomUUID(), timeoutMs: 60_000 }),
      );
    };
    const sweeper = startIntervalTask(sweep, {
      intervalMs: options.sweepIntervalMs ?? localDefaults.sweepIntervalMs,
      logger,
      name: 'sweeper',
    });
    cleanups.set('sweeper', () => sweeper.stop());

    let stopping: Promise<void> | undefined;
    logger.debug('local runtime started', { url, dataDir, tableName, dynamodbEndpoint });
    return {
      url,
      consoleUrl: `${url}/console`,
      apiKey,
      apiKeyCreated,
      dataDir,
      tableName,
      dynamodbEndpoint,
      dynamodbLocal,
      queues,
      scheduler,
      allowedTargetNetworks,
      awsRegion,
      sweep,
      stop: () => {
        stopping ??= stopStarted();
        return stopping;
      },
    };
  } catch (error) {
    await stopStarted();
    throw error;
  }
}

/** The logger of `npm start`: readable in a terminal, JSON lines when piped or asked for. */
function terminalLogger(options: LocalRuntimeOptions) {
  const env = process.env;
  let format: LogFormat | undefined;
  try {
    format = options.logFormat ?? parseLogFormat(env.LOG_FORMAT);
  } catch (error) {
    throw new LocalRuntimeConfigError((error as Error).message);
  }
  const terminal = process.stdout.isTTY === true;
  format ??= terminal ? 'pretty' : 'json';
  return createLogger({
    level: options.logLevel ?? parseLogLevel(env.LOG_LEVEL),
    format,
    // NO_COLOR (https://no-color.org): any non-empty value turns colour off.
    color: format === 'pretty' && terminal && !env.NO_COLOR,
  });
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new LocalRuntimeConfigError(`PORT must be an integer from 0 to 65535, not "${value}".`);
  }
  return port;
}

function parseSeconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback * 1000;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 900) {
    throw new LocalRuntimeConfigError(
      `${name} must be a whole number of seconds from 1 to 900, not "${value}".`,
    );
  }
  return seconds * 1000;
}

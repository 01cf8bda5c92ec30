import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { LOCAL_DYNAMODB_CREDENTIALS, LOCAL_DYNAMODB_REGION } from '../../infra/local/dynamodb-local.js';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../infra/local/runtime.js';
import { ControlPlaneClient, type Execution, type ExecutionStatus } from '../../sdk/index.js';
import { DynamoEntityStore } from '../../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { LocalSecretBox } from '../../shared/adapters/local-secret-box.js';
import { parseLogLevel } from '../../shared/adapters/logger.js';

export interface TestRuntime extends LocalRuntime {
  /** Stops the runtime, drops its table and removes its data dir. Idempotent. */
  cleanup(): Promise<void>;
}

/** Runtime options a test may set; the rest (port, data dir, table, DynamoDB, logger) is the harness's. */
export type TestRuntimeOptions = Pick<
  LocalRuntimeOptions,
  | 'workerTimeoutMs'
  | 'sweepIntervalMs'
  | 'maxReceiveCount'
  | 'retentionDays'
  | 'configPath'
  | 'clock'
  | 'allowedTargetNetworks'
  | 'awsRegion'
> & {
  /** The data dir and table of an earlier (stopped) runtime: a restart. */
  reuse?: { dataDir: string; tableName: string };
};

/**
 * The local runtime in this process, as `npm start` wires it, on a random port, a fresh temp data dir and
 * a random table in the run's shared DynamoDB Local (so it starts no java of its own).
 */
export async function startTestRuntime({ reuse, ...options }: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const dataDir = reuse?.dataDir ?? (await mkdtemp(join(tmpdir(), 'jobs-e2e-')));
  const endpoint = inject('dynamodbEndpoint');
  const tableName = reuse?.tableName ?? `e2e-${randomBytes(6).toString('hex')}`;
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      // No AWS for targets unless a test asks: the suite never reaches an account, whatever the environment holds.
      awsRegion: null,
      ...options,
      dataDir,
      port: 0,
      dynamodbEndpoint: endpoint,
      tableName,
      // Quiet unless LOG_LEVEL asks otherwise (in LOG_FORMAT, as `npm start`): request logs would drown
      // the test output.
      logLevel: parseLogLevel(process.env.LOG_LEVEL, 'silent'),
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  let cleaning: Promise<void> | undefined;
  const cleanup = async () => {
    await runtime.stop();
    try {
      await deleteLocalTable(endpoint, tableName);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  return {
    ...runtime,
    cleanup: () => {
      cleaning ??= cleanup();
      return cleaning;
    },
  };
}

/** Deletes the table `tableName` of the DynamoDB Local at `endpoint`. */
export async function deleteLocalTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
  });
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } finally {
    client.destroy();
  }
}

/** Statuses a run never leaves. */
export const FINISHED: readonly ExecutionStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
];

/**
 * Polls an execution until its status is one of `statuses` (any finished status by default) and returns
 * it; rejects with the last status seen after `timeoutMs`. `onPoll` runs before each look (a test can
 * run the sweeper there instead of waiting for its interval).
 */
export async function waitForExecution(
  client: ControlPlaneClient,
  jobId: string,
  executionId: string,
  options: { statuses?: readonly ExecutionStatus[]; timeoutMs?: number; onPoll?: () => Promise<void> } = {},
): Promise<Execution> {
  const statuses = options.statuses ?? FINISHED;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const started = Date.now();
  let last: Execution | undefined;
  while (Date.now() - started < timeoutMs) {
    await options.onPoll?.();
    last = await client.jobs.getExecution(jobId, executionId);
    if (statuses.includes(last.status)) return last;
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 50));
  }
  throw new Error(
    `Execution ${executionId} did not reach ${statuses.join('|')} within ${timeoutMs} ms (last: ${last?.status}).`,
  );
}

/**
 * The runtime's own stores and secret box, opened a second time over its table and key file: what a
 * second worker process of the same deployment would use. `close()` releases the DynamoDB client.
 */
export async function openRuntimeStores(runtime: LocalRuntime) {
  const client = new DynamoDBClient({
    endpoint: runtime.dynamodbEndpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
  });
  const documents = DynamoDBDocumentClient.from(client);
  return {
    entities: new DynamoEntityStore(documents, runtime.tableName),
    executions: new DynamoExecutionStore(documents, runtime.tableName),
    secrets: await LocalSecretBox.fromKeyFile(resolve(runtime.dataDir, 'secret-box.key')),
    close: () => client.destroy(),
  };
}

/**
 * A test runtime, an SDK client for it, and a default echo workflow entity `dry-run`, so jobs without an
 * entity can be created and run: the setup most e2e files share.
 */
export async function startRuntimeWithClient(options: TestRuntimeOptions = {}) {
  const runtime = await startTestRuntime(options);
  const client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
  await client.entities.create({
    id: 'dry-run',
    type: 'workflow',
    name: 'Dry run',
    target: { type: 'echo' },
    default: true,
  });
  return { runtime, client };
}

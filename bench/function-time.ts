/**
 * What each Lambda function spends on one small run, for `docs/cost.md`: the real handlers (API trigger
 * route, webhook, dispatch, worker), built as the runtimes build them, invoked one at a time with the
 * events Lambda gives them, on DynamoDB Local. Per function it prints the wall time and the CPU time of
 * this process per invocation (DynamoDB Local runs in its own process, so its work is not in the CPU
 * figure), the DynamoDB requests and queue sends it made, and the bytes its log lines take at the
 * default level (`info`, JSON lines, as on Lambda). The first invocations warm the JIT and are not
 * counted.
 *
 *   npx tsx bench/function-time.ts [runs per trigger=100]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import {
  LOCAL_DYNAMODB_CREDENTIALS,
  LOCAL_DYNAMODB_REGION,
  startDynamoDbLocal,
} from '../infra/local/dynamodb-local.js';
import { createLambdaContext } from '../infra/local/http-server.js';
import { LocalScheduler } from '../infra/local/local-scheduler.js';
import { systemTimerClock } from '../infra/local/timer-clock.js';
import { generateApiKey, HashedApiKeys } from '../shared/adapters/api-keys.js';
import { DynamoApiKeyStore } from '../shared/adapters/aws/dynamo-api-key-store.js';
import { DynamoAuditLog } from '../shared/adapters/aws/dynamo-audit-log.js';
import { DynamoEntityStore } from '../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { DynamoRateLimiter } from '../shared/adapters/aws/dynamo-rate-limiter.js';
import { DynamoWebhookStore } from '../shared/adapters/aws/dynamo-webhook-store.js';
import { ensureJobsTable } from '../shared/adapters/aws/jobs-table.js';
import { LocalSecretBox } from '../shared/adapters/local-secret-box.js';
import { createLogger } from '../shared/adapters/logger.js';
import { createMetrics } from '../shared/adapters/metrics.js';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { createTargetInvoker } from '../shared/adapters/target-invoker.js';
import { buildServices } from '../shared/app/build-services.js';
import { signHexHmac } from '../shared/domain/signature.js';
import { makeDispatchHandler } from '../shared/handlers/dispatch-handler.js';
import { makeWebhookHandler } from '../shared/handlers/webhook-handler.js';
import { makeWorkerHandler } from '../shared/handlers/worker-handler.js';
import { makeApiHandler } from '../shared/http/api-handler.js';
import type { DeploymentConfig, RunMessage } from '../shared/ports.js';

const RUNS = Number(process.argv[2] ?? 100);
const WARMUP = 10;

type FunctionName = 'api' | 'webhook' | 'dispatch' | 'worker';
interface Tally {
  invocations: number;
  wallMs: number[];
  cpuMs: number;
  dynamodb: number;
  sends: number;
  logBytes: number;
}
const tallies = new Map<FunctionName, Tally>();
/** The function being invoked: invocations run one at a time, so every request and line is its. */
let current: FunctionName | null = null;
let counting = false;
const tallyOf = (name: FunctionName) => {
  let tally = tallies.get(name);
  if (!tally) {
    tally = { invocations: 0, wallMs: [], cpuMs: 0, dynamodb: 0, sends: 0, logBytes: 0 };
    tallies.set(name, tally);
  }
  return tally;
};

const db = await startDynamoDbLocal({ dataPath: null });
const client = new DynamoDBClient({
  endpoint: db.endpoint,
  region: LOCAL_DYNAMODB_REGION,
  credentials: LOCAL_DYNAMODB_CREDENTIALS,
});
const documents = DynamoDBDocumentClient.from(client);
documents.middlewareStack.add(
  (next) => async (args) => {
    if (counting && current) tallyOf(current).dynamodb++;
    return next(args);
  },
  { step: 'initialize', name: 'countRequests' },
);
const tableName = `bench-${randomUUID().slice(0, 8)}`;
const dataDir = await mkdtemp(join(tmpdir(), 'function-time-'));

/** Invokes `handler` as Lambda would, timing it and attributing what it does to `name`. */
async function invoke<T>(name: FunctionName, work: (context: Context) => Promise<T>): Promise<T> {
  const context = createLambdaContext({ functionName: name, awsRequestId: randomUUID(), timeoutMs: 60_000 });
  current = name;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    return await work(context);
  } finally {
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    const used = process.cpuUsage(cpu);
    if (counting) {
      const tally = tallyOf(name);
      tally.invocations++;
      tally.wallMs.push(wall);
      tally.cpuMs += (used.user + used.system) / 1000;
    }
    current = null;
  }
}

function httpEvent(method: string, path: string, headers: Record<string, string>, body: string) {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      domainName: 'bench.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'bench',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'bench' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body,
    isBase64Encoded: false,
  } satisfies APIGatewayProxyEventV2;
}

function sqsEvent(message: RunMessage): SQSEvent {
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body: JSON.stringify(message),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'bench',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:default',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

try {
  await ensureJobsTable(client, tableName);
  // Lines at the default level, counted against the function that wrote them.
  const logger = createLogger({
    level: 'info',
    format: 'json',
    sink: (line) => {
      if (counting && current) tallyOf(current).logBytes += Buffer.byteLength(line, 'utf8') + 1;
    },
  });
  const metrics = createMetrics({ logger });
  const messages: RunMessage[] = [];
  const queue = {
    send: async (_queue: string, message: RunMessage) => {
      if (counting && current) tallyOf(current).sends++;
      messages.push(message);
    },
  };
  const deployment: DeploymentConfig = {
    defaultQueue: 'default',
    queues: [],
    environments: {},
    open: true,
    publicBaseUrl: 'http://127.0.0.1:3000',
  };
  const apiKey = generateApiKey();
  const services = buildServices({
    jobs: new DynamoJobStore(documents, tableName),
    entities: new DynamoEntityStore(documents, tableName),
    executions: new DynamoExecutionStore(documents, tableName),
    webhooks: new DynamoWebhookStore(documents, tableName),
    queue,
    deployment,
    clock: systemClock,
    ids: randomIds,
    logger,
    metrics,
    retentionDays: 90,
    secrets: await LocalSecretBox.fromKeyFile(join(dataDir, 'secret-box.key')),
    // The measured jobs' schedules are never started: dispatch is invoked directly, as the Scheduler does.
    scheduler: new LocalScheduler({ clock: systemTimerClock, logger, dispatch: () => Promise.resolve() }),
    rateLimiter: new DynamoRateLimiter(documents, tableName, systemClock),
    invoker: createTargetInvoker(),
    apiKeyStore: new DynamoApiKeyStore(documents, tableName),
    deploymentKeys: HashedApiKeys.fromKeys([apiKey]),
    auditLog: new DynamoAuditLog(documents, tableName),
  });
  const api = makeApiHandler({ services, clock: systemClock, logger });
  const webhook = makeWebhookHandler({ webhooks: services.webhooks, logger, metrics });
  const dispatch = makeDispatchHandler({ runs: services.runs, logger });
  const worker = makeWorkerHandler({ worker: services.worker, logger });

  await services.entities.create({ type: 'workflow', name: 'Echo', target: { type: 'echo' }, default: true });
  const template = 'Check {{ service }} in {{ region }} and report anything unusual';
  const body = JSON.stringify({ parameters: { service: 'payments-api', region: 'eu-west-1' } });
  const manualJob = await services.jobs.create({
    name: 'bench manual',
    trigger_type: 'manual',
    prompt_template: template,
  });
  const hook = await services.jobs.create({
    name: 'bench hook',
    trigger_type: 'webhook',
    prompt_template: template,
  });
  const cronJob = await services.jobs.create({
    name: 'bench cron',
    trigger_type: 'cron',
    cron_schedule: '* * * * *',
    prompt_template: 'Tick',
  });
  const signature = `sha256=${signHexHmac(Buffer.from(body), hook.webhook_secret as string)}`;

  const runWorker = async () => {
    for (let message = messages.shift(); message; message = messages.shift()) {
      const event = sqsEvent(message);
      const result = await invoke('worker', (context) => worker(event, context));
      if (result.batchItemFailures.length > 0) throw new Error('a run message failed');
    }
  };
  const expect202 = (result: { statusCode?: number } | undefined) => {
    if (result?.statusCode !== 202) throw new Error(`trigger answered ${result?.statusCode}`);
  };
  const scenarios: [string, (index: number) => Promise<void>][] = [
    [
      'manual',
      async () => {
        const event = httpEvent(
          'POST',
          `/jobs/${manualJob.id}/trigger`,
          { authorization: `Bearer ${apiKey}` },
          body,
        );
        expect202(await invoke('api', (context) => api(event, context)));
        await runWorker();
      },
    ],
    [
      'webhook',
      async () => {
        const event = httpEvent(
          'POST',
          `/webhooks/${hook.webhook_path}`,
          { 'x-webhook-signature': signature },
          body,
        );
        expect202(await invoke('webhook', (context) => webhook(event, context)));
        await runWorker();
      },
    ],
    [
      'cron',
      async (index) => {
        const fire = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 60_000 * (index + 1)).toISOString();
        const result = await invoke('dispatch', (context) =>
          dispatch({ job_id: cronJob.id, scheduled_time: fire }, context),
        );
        if (result.outcome !== 'started') throw new Error(`dispatch answered ${result.outcome}`);
        await runWorker();
      },
    ],
  ];

  const perRunLogBytes = new Map<string, number>();
  let fireIndex = 0;
  for (const [name, scenario] of scenarios) {
    counting = false;
    for (let index = 0; index < WARMUP; index++) await scenario(fireIndex++);
    const before = [...tallies.values()].reduce((sum, tally) => sum + tally.logBytes, 0);
    counting = true;
    for (let index = 0; index < RUNS; index++) await scenario(fireIndex++);
    counting = false;
    const after = [...tallies.values()].reduce((sum, tally) => sum + tally.logBytes, 0);
    perRunLogBytes.set(name, (after - before) / RUNS);
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const p90 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)] ?? 0;
  console.log(
    `${RUNS} runs per trigger (manual, webhook, cron), echo target, DynamoDB Local, one invocation at a time`,
  );
  console.log(
    `${'function'.padEnd(10)}${'calls'.padStart(7)}${'wall p50'.padStart(10)}${'wall p90'.padStart(10)}${'cpu/call'.padStart(10)}${'dynamodb'.padStart(10)}${'sends'.padStart(7)}${'log B'.padStart(8)}`,
  );
  for (const [name, tally] of tallies) {
    const n = tally.invocations;
    console.log(
      `${name.padEnd(10)}${String(n).padStart(7)}${median(tally.wallMs).toFixed(1).padStart(10)}${p90(tally.wallMs).toFixed(1).padStart(10)}${(tally.cpuMs / n).toFixed(2).padStart(10)}${(tally.dynamodb / n).toFixed(2).padStart(10)}${(tally.sends / n).toFixed(2).padStart(7)}${(tally.logBytes / n).toFixed(0).padStart(8)}`,
    );
  }
  console.log(
    `log bytes per run (trigger + worker): ${[...perRunLogBytes].map(([name, bytes]) => `${name} ${bytes.toFixed(0)}`).join(', ')}`,
  );
} finally {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
}

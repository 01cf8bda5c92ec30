/**
 * What a run costs in DynamoDB, counted as DynamoDB bills it, and how far one partition key would cap
 * throughput. Runs go through the real use cases and stores (RunService, WebhookService, the cron
 * dispatch, RunWorker with an echo target) on DynamoDB Local, every request asked for its consumed
 * capacity per table and index (`ReturnConsumedCapacity: INDEXES`). Billing corrections DynamoDB Local
 * does not make: a transaction's items are billed twice; a conditional write that fails is billed
 * (DynamoDB Local reports nothing for it) as the item it would have written.
 *
 * Per scenario it prints write and read units per run, DynamoDB requests per run, and the hottest
 * partition: the most write units per run on one partition-key value of the table or of an index (a
 * partition takes about 1,000 write units per second). The baseline, measured in the same run, is one
 * bare PutItem of the run's record.
 *
 *   npx tsx bench/run-cost.ts [runs=200]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConditionalCheckFailedException,
  DeleteTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  LOCAL_DYNAMODB_CREDENTIALS,
  LOCAL_DYNAMODB_REGION,
  startDynamoDbLocal,
} from '../infra/local/dynamodb-local.js';
import { LocalScheduler } from '../infra/local/local-scheduler.js';
import { systemTimerClock } from '../infra/local/timer-clock.js';
import { DynamoAuditLog } from '../shared/adapters/aws/dynamo-audit-log.js';
import { DynamoEntityStore } from '../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { DynamoRateLimiter } from '../shared/adapters/aws/dynamo-rate-limiter.js';
import { DynamoWebhookStore } from '../shared/adapters/aws/dynamo-webhook-store.js';
import { ensureJobsTable, JOBS_TABLE } from '../shared/adapters/aws/jobs-table.js';
import { LocalSecretBox } from '../shared/adapters/local-secret-box.js';
import { createLogger } from '../shared/adapters/logger.js';
import { createMetrics } from '../shared/adapters/metrics.js';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { createTargetInvoker } from '../shared/adapters/target-invoker.js';
import { buildServices } from '../shared/app/build-services.js';
import { signHexHmac, signStandardWebhook } from '../shared/domain/signature.js';
import type { DeploymentConfig, RunMessage } from '../shared/ports.js';

const RUNS = Number(process.argv[2] ?? 200);

const db = await startDynamoDbLocal({ dataPath: null });
const client = new DynamoDBClient({
  endpoint: db.endpoint,
  region: LOCAL_DYNAMODB_REGION,
  credentials: LOCAL_DYNAMODB_CREDENTIALS,
});
const documents = DynamoDBDocumentClient.from(client);
const tableName = `bench-${randomUUID().slice(0, 8)}`;
const dataDir = await mkdtemp(join(tmpdir(), 'run-cost-'));

// ── Billing, as DynamoDB does it ─────────────────────────────────────────────────────────────────────
interface Tally {
  read: number;
  write: number;
  requests: number;
  /** Write units per partition-key value, by `table` or index name. */
  partitions: Map<string, number>;
}
const newTally = (): Tally => ({ read: 0, write: 0, requests: 0, partitions: new Map() });
let tally = newTally();

const INDEX_KEYS: Record<string, string> = Object.fromEntries(
  Object.values(JOBS_TABLE.indexes).map((index) => [index.name, index.partitionKey]),
);
const addPartition = (where: string, key: unknown, units: number) => {
  if (typeof key !== 'string' || units <= 0) return;
  const name = `${where} ${key}`;
  tally.partitions.set(name, (tally.partitions.get(name) ?? 0) + units);
};
const itemKB = (item: Record<string, unknown> | undefined) =>
  Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(item ?? {}), 'utf8') / 1024));

documents.middlewareStack.add(
  (next, context) => async (args) => {
    const input = args.input as Record<string, unknown> & { ReturnConsumedCapacity?: string };
    input.ReturnConsumedCapacity = 'INDEXES';
    const command = context.commandName ?? '';
    const isRead = /^(Get|Query|Scan|BatchGet|TransactGet)/.test(command);
    tally.requests++;
    try {
      const result = await next(args);
      const output = result.output as {
        ConsumedCapacity?: Capacity | Capacity[];
        Attributes?: Record<string, unknown>;
      };
      const reported = Array.isArray(output.ConsumedCapacity)
        ? output.ConsumedCapacity
        : output.ConsumedCapacity
          ? [output.ConsumedCapacity]
          : [];
      // A transaction's items are written (and read) twice: prepare and commit.
      const factor = command.startsWith('Transact') ? 2 : 1;
      for (const capacity of reported) {
        const units = (capacity.CapacityUnits ?? 0) * factor;
        if (isRead) {
          tally.read += units;
          continue;
        }
        tally.write += units;
        const item = (input.Item as Record<string, unknown> | undefined) ?? output.Attributes;
        const key = (input.Key as Record<string, unknown> | undefined) ?? item;
        addPartition('table', key?.pk, (capacity.Table?.CapacityUnits ?? 0) * factor);
        for (const [index, used] of Object.entries(capacity.GlobalSecondaryIndexes ?? {})) {
          addPartition(index, item?.[INDEX_KEYS[index] ?? ''], (used.CapacityUnits ?? 0) * factor);
        }
      }
      return result;
    } catch (error) {
      // A failed conditional write is billed as the write it would have been; DynamoDB Local says nothing.
      if (error instanceof ConditionalCheckFailedException && !isRead) {
        const old = (error as { Item?: Record<string, unknown> }).Item;
        const units = Math.max(
          itemKB(input.Item as Record<string, unknown> | undefined),
          old ? itemKB(old) : 1,
        );
        tally.write += units;
        const key =
          (input.Key as Record<string, unknown> | undefined) ?? (input.Item as Record<string, unknown>);
        addPartition('table', key?.pk, units);
      }
      throw error;
    }
  },
  { step: 'initialize', name: 'billedCapacity' },
);

interface Capacity {
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

/** Runs `phase` `RUNS` times and returns its bill per run (`jobs`: how many jobs the runs are spread over). */
async function measure(phase: (index: number) => Promise<unknown>, jobs = 1) {
  tally = newTally();
  const started = process.hrtime.bigint();
  for (let index = 0; index < RUNS; index++) await phase(index);
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / RUNS;
  const hottest = (where: (name: string) => boolean) =>
    Math.max(0, ...[...tally.partitions].filter(([name]) => where(name)).map(([, units]) => units)) / RUNS;
  return {
    write: tally.write / RUNS,
    read: tally.read / RUNS,
    requests: tally.requests / RUNS,
    ms,
    hottestTable: hottest((name) => name.startsWith('table ')),
    hottestIndex: hottest((name) => !name.startsWith('table ')),
    hottestShared: hottest((name) => /^table RUN#|^gsi5 /.test(name)),
    // Per run of that job: with the runs spread over `jobs` jobs, each job had RUNS / jobs of them.
    hottestJob: hottest((name) => /JOB#|LOCK#/.test(name)) * jobs,
  };
}

try {
  await ensureJobsTable(client, tableName);
  // A new table has nothing to migrate; the sweeper's first pass records that (one read per process after).
  await new DynamoExecutionStore(documents, tableName).upgrade();
  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics({ logger });
  const entities = new DynamoEntityStore(documents, tableName);
  const executions = new DynamoExecutionStore(documents, tableName);
  const jobStore = new DynamoJobStore(documents, tableName);
  const webhooks = new DynamoWebhookStore(documents, tableName);
  const secrets = await LocalSecretBox.fromKeyFile(join(dataDir, 'secret-box.key'));
  const messages: RunMessage[] = [];
  const queue = { send: async (_queue: string, message: RunMessage) => void messages.push(message) };
  const deployment: DeploymentConfig = {
    defaultQueue: 'default',
    queues: [],
    environments: {},
    open: true,
    publicBaseUrl: 'http://127.0.0.1:3000',
  };
  const common = { entities, executions, queue, deployment, clock: systemClock, ids: randomIds, logger };
  const at = new Date().toISOString();
  await entities.create(
    {
      id: 'echo',
      type: 'workflow',
      name: 'Echo',
      description: null,
      target: { type: 'echo' },
      default: true,
      created_at: at,
      updated_at: at,
    },
    null,
  );
  // The measured jobs are not cron jobs: the (never started) in-process scheduler is not called.
  const scheduler = new LocalScheduler({
    clock: systemTimerClock,
    logger,
    dispatch: () => Promise.resolve(),
  });
  // Built as the runtimes build them.
  const services = buildServices({
    ...common,
    jobs: jobStore,
    webhooks,
    secrets,
    scheduler,
    metrics,
    rateLimiter: new DynamoRateLimiter(documents, tableName, systemClock),
    invoker: createTargetInvoker(),
    retentionDays: 90,
    auditLog: new DynamoAuditLog(documents, tableName),
  });
  const { jobs, runs, worker, webhooks: webhookService } = services;
  const work = async () => {
    for (let message = messages.shift(); message; message = messages.shift())
      await worker.handle(message, 60_000);
  };
  const template = 'Check {{ service }} in {{ region }} and report anything unusual';
  const parameters = { service: 'payments-api', region: 'eu-west-1' };
  const manualJobs = [
    await jobs.create({ name: 'bench one', trigger_type: 'manual', prompt_template: template }),
    await jobs.create({ name: 'bench two', trigger_type: 'manual', prompt_template: template }),
  ];
  const skipJob = await jobs.create({
    name: 'bench skip',
    trigger_type: 'manual',
    prompt_template: template,
    config: { overlap_policy: 'skip' },
  });
  const hook = await jobs.create({ name: 'bench hook', trigger_type: 'webhook', prompt_template: template });
  const hookPath = hook.webhook_path as string;
  const hookSecret = hook.webhook_secret as string;
  const cronJob = await jobs.create({
    name: 'bench cron',
    trigger_type: 'cron',
    cron_schedule: '* * * * *',
    prompt_template: 'Tick',
  });
  const body = Buffer.from(JSON.stringify({ parameters }));

  // Baseline: the run's record written once, with no bookkeeping at all.
  let sample: unknown = { job_id: manualJobs[0]?.id, prompt: template, parameters };
  const baseline = await measure(async () => {
    await documents.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: `BENCH#${randomUUID()}`, sk: 'EXEC', doc: JSON.stringify(sample) },
      }),
    );
  });
  const manual = await measure(async (index) => {
    const job = manualJobs[index % 2] as { id: string };
    const started = await runs.trigger(job.id, { parameters });
    sample = started;
    await work();
  }, 2);
  const idempotent = await measure(async () => {
    await runs.trigger(manualJobs[0]?.id as string, { parameters }, `key-${randomUUID()}`);
    await work();
  });
  const skip = await measure(async () => {
    await runs.trigger(skipJob.id, { parameters });
    await work();
  });
  const webhookNoId = await measure(async () => {
    await webhookService.deliver(
      {
        path: hookPath,
        rawBody: body,
        signature: {
          scheme: 'hmac-sha256',
          signature: `sha256=${signHexHmac(body, hookSecret)}`,
          deliveryId: undefined,
        },
      },
      { parameters },
    );
    await work();
  });
  const webhookWithId = await measure(async () => {
    const id = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    await webhookService.deliver(
      {
        path: hookPath,
        rawBody: body,
        signature: {
          scheme: 'standard-webhooks',
          signature: signStandardWebhook({ id, timestamp, body, secret: hookSecret }),
          id,
          timestamp: String(timestamp),
        },
      },
      { parameters },
    );
    await work();
  });
  const firstFire = Math.floor(Date.now() / 60_000) * 60_000;
  const cron = await measure(async (index) => {
    await runs.dispatchCron(cronJob.id, new Date(firstFire + 60_000 * index).toISOString());
    await work();
  });
  const duplicateFire = await measure(async () => {
    await runs.dispatchCron(cronJob.id, new Date(firstFire).toISOString());
  });
  const history = await runs.listExecutions(manualJobs[0]?.id as string, { limit: 1, offset: 0 });
  if (history.executions[0]?.status !== 'succeeded') throw new Error('runs did not succeed');

  type Row = Awaited<ReturnType<typeof measure>>;
  const rows: [string, Row][] = [
    ['baseline: one PutItem', baseline],
    ['manual (two jobs)', manual],
    ['manual, Idempotency-Key', idempotent],
    ['manual, overlap skip', skip],
    ['webhook, no delivery id', webhookNoId],
    ['webhook, with webhook-id', webhookWithId],
    ['cron fire', cron],
    ['duplicate cron delivery', duplicateFire],
  ];
  console.log(`runs: ${RUNS} per scenario, echo target, DynamoDB Local, billed as DynamoDB bills`);
  console.log(
    `${'scenario'.padEnd(26)}${'write'.padStart(7)}${'read'.padStart(7)}${'calls'.padStart(7)}  hottest: ${'table'.padStart(6)}${'index'.padStart(7)}${'shared'.padStart(8)}${'one job'.padStart(9)}${'ms'.padStart(8)}`,
  );
  for (const [name, row] of rows) {
    console.log(
      `${name.padEnd(26)}${row.write.toFixed(2).padStart(7)}${row.read.toFixed(2).padStart(7)}${row.requests.toFixed(1).padStart(7)}           ${row.hottestTable.toFixed(2).padStart(6)}${row.hottestIndex.toFixed(2).padStart(7)}${row.hottestShared.toFixed(2).padStart(8)}${row.hottestJob.toFixed(2).padStart(9)}${row.ms.toFixed(1).padStart(8)}`,
    );
  }
  console.log(
    `\nmanual run / baseline: ${(manual.write / baseline.write).toFixed(1)}x write units; ` +
      `throughput ceilings at ~1,000 write units/s per partition: ${Math.floor(1000 / Math.max(manual.hottestShared, 0.001))} runs/s per deployment, ` +
      `${Math.floor(1000 / Math.max(manual.hottestJob, 0.001))} runs/s per job (two jobs here: one job takes every run at twice this)`,
  );
} finally {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
}

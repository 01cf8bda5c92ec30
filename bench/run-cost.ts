/**
 * Cost of one run in DynamoDB capacity, the unit AWS bills: trigger → claim → succeeded through the
 * real use cases and stores (RunService.startRun, RunWorker with an echo target) on DynamoDB Local,
 * every request asked to report its consumed capacity. The baseline, measured in the same run, is
 * one bare PutItem of the same execution record: the ratio is the price of the bookkeeping (the
 * transaction, the job counter, the sweeper index, the conditional claim and result).
 *
 *   npx tsx bench/run-cost.ts [runs=50]
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  LOCAL_DYNAMODB_CREDENTIALS,
  LOCAL_DYNAMODB_REGION,
  startDynamoDbLocal,
} from '../infra/local/dynamodb-local.js';
import { LocalScheduler } from '../infra/local/local-scheduler.js';
import { systemTimerClock } from '../infra/local/timer-clock.js';
import { DynamoEntityStore } from '../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { ensureJobsTable } from '../shared/adapters/aws/jobs-table.js';
import { createLogger } from '../shared/adapters/logger.js';
import { createMetrics } from '../shared/adapters/metrics.js';
import { randomIds, systemClock } from '../shared/adapters/system.js';
import { createTargetInvoker } from '../shared/adapters/target-invoker.js';
import { JobService } from '../shared/app/jobs.js';
import { RunService } from '../shared/app/runs.js';
import { RunWorker } from '../shared/app/worker.js';
import type { DeploymentConfig, RunMessage, SecretBox } from '../shared/ports.js';

const RUNS = Number(process.argv[2] ?? 50);

const db = await startDynamoDbLocal({ dataPath: null });
const client = new DynamoDBClient({
  endpoint: db.endpoint,
  region: LOCAL_DYNAMODB_REGION,
  credentials: LOCAL_DYNAMODB_CREDENTIALS,
});
const documents = DynamoDBDocumentClient.from(client);
const tableName = `bench-${randomUUID().slice(0, 8)}`;

// Every command reports what it consumed; the totals are read around each phase.
const consumed = { read: 0, write: 0, requests: 0 };
documents.middlewareStack.add(
  (next, context) => async (args) => {
    (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    // DynamoDB Local reports one CapacityUnits figure per table; the command says which kind it is.
    const reported = (
      result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }
    ).ConsumedCapacity;
    const units = (Array.isArray(reported) ? reported : [reported ?? {}]).reduce(
      (sum, entry) => sum + (entry.CapacityUnits ?? 0),
      0,
    );
    if (/^(Get|Query|Scan|BatchGet|TransactGet)/.test(context.commandName ?? '')) consumed.read += units;
    else consumed.write += units;
    consumed.requests++;
    return result;
  },
  { step: 'initialize', name: 'consumedCapacity' },
);

try {
  await ensureJobsTable(client, tableName);
  const logger = createLogger({ level: 'silent' });
  const entities = new DynamoEntityStore(documents, tableName);
  const executions = new DynamoExecutionStore(documents, tableName);
  const messages: RunMessage[] = [];
  const queue = { send: async (_queue: string, message: RunMessage) => void messages.push(message) };
  const secrets: SecretBox = { seal: async (value) => value, open: async (value) => value };
  const deployment: DeploymentConfig = {
    defaultQueue: 'default',
    queues: [],
    environments: {},
    open: true,
    publicBaseUrl: 'http://127.0.0.1:3000',
  };
  const common = { entities, executions, queue, deployment, clock: systemClock, ids: randomIds, logger };
  await entities.create(
    {
      id: 'echo',
      type: 'workflow',
      name: 'Echo',
      description: null,
      target: { type: 'echo' },
      default: true,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    },
    null,
  );
  // The measured job is manual: the (never started) in-process scheduler is not called.
  const scheduler = new LocalScheduler({
    clock: systemTimerClock,
    logger,
    dispatch: () => Promise.resolve(),
  });
  const jobs = new JobService({
    ...common,
    metrics: createMetrics({ logger, emit: () => {} }),
    secrets,
    scheduler,
    jobs: new DynamoJobStore(documents, tableName),
  });
  const runs = new RunService({ ...common, jobs, retentionDays: 90 });
  const worker = new RunWorker({ ...common, secrets, invoker: createTargetInvoker() });
  const job = await jobs.create({
    name: 'bench',
    trigger_type: 'manual',
    prompt_template: 'Check {{ service }}',
  });

  const measure = async (phase: () => Promise<unknown>) => {
    const before = { ...consumed };
    const started = process.hrtime.bigint();
    for (let index = 0; index < RUNS; index++) await phase();
    return {
      ms: Number(process.hrtime.bigint() - started) / 1e6 / RUNS,
      read: (consumed.read - before.read) / RUNS,
      write: (consumed.write - before.write) / RUNS,
      requests: (consumed.requests - before.requests) / RUNS,
    };
  };

  // Baseline: the execution record written once, with no bookkeeping at all.
  let sample: unknown;
  const baseline = await measure(async () => {
    await documents.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: `BENCH#${randomUUID()}`,
          sk: 'EXEC',
          doc: JSON.stringify(sample ?? { job_id: job.id, prompt: 'Check api' }),
        },
      }),
    );
  });
  const trigger = await measure(async () => {
    const outcome = await runs.startRun(job, { trigger_type: 'manual', parameters: { service: 'api' } });
    sample = outcome.execution;
  });
  const work = await measure(async () => {
    const message = messages.shift();
    if (message) await worker.handle(message, 60_000);
  });
  const history = await runs.listExecutions(job.id, { limit: 1, offset: 0 });
  if (history.executions[0]?.status !== 'succeeded') throw new Error('runs did not succeed');

  // A cron fire: dispatch (job read, fire-time check, startRun with the fire's dedupe marker), one fire
  // time per run of a job firing every minute; then one duplicate delivery of the last fire.
  const cronJob = await jobs.create({
    name: 'bench cron',
    trigger_type: 'cron',
    cron_schedule: '* * * * *',
    prompt_template: 'Tick',
  });
  const firstFire = Math.floor(Date.now() / 60_000) * 60_000;
  let fire = 0;
  const dispatch = await measure(async () => {
    await runs.dispatchCron(cronJob.id, new Date(firstFire + 60_000 * fire++).toISOString());
  });
  const duplicate = await measure(async () => {
    await runs.dispatchCron(cronJob.id, new Date(firstFire).toISOString());
  });
  messages.length = 0;

  const run = { read: trigger.read + work.read, write: trigger.write + work.write, ms: trigger.ms + work.ms };
  const row = (name: string, r: { read: number; write: number; ms: number; requests?: number }) =>
    `${name.padEnd(24)} write units ${r.write.toFixed(1).padStart(5)}   read units ${r.read.toFixed(1).padStart(5)}   ms ${r.ms.toFixed(1).padStart(6)}`;
  console.log(`runs: ${RUNS} (echo target), DynamoDB Local, capacity as reported per request`);
  console.log(row('baseline: one PutItem', baseline));
  console.log(row('trigger (startRun)', trigger));
  console.log(row('worker (claim + result)', work));
  console.log(row('whole run', run));
  console.log(row('cron fire (dispatch)', dispatch));
  console.log(row('duplicate fire delivery', duplicate));
  console.log(
    `run / baseline: ${(run.write / baseline.write).toFixed(1)}x write units, ${(run.ms / baseline.ms).toFixed(1)}x time`,
  );
} finally {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
  await db.stop();
}

/**
 * List-jobs benchmark: the filtered list the API serves (a Query on a GSI, see dynamo-job-store.ts)
 * against the obvious alternative, a Scan with a filter, measured side by side in one DynamoDB Local.
 * Prints items read per page and time per page for both, and their ratios; absolute times on this
 * machine mean little, the ratios are the result.
 *
 *   npx tsx bench/list-jobs.ts [jobs=400] [rounds=20]
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  LOCAL_DYNAMODB_CREDENTIALS,
  LOCAL_DYNAMODB_REGION,
  startDynamoDbLocal,
} from '../infra/local/dynamodb-local.js';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { ensureJobsTable } from '../shared/adapters/aws/jobs-table.js';
import { buildJobSpec, type Job, type TriggerType } from '../shared/domain/job.js';

const JOBS = Number(process.argv[2] ?? 400);
const ROUNDS = Number(process.argv[3] ?? 20);
const PAGE = 20;
const TRIGGERS: TriggerType[] = ['manual', 'webhook', 'cron', 'manual', 'webhook'];

const db = await startDynamoDbLocal({ dataPath: null });
const client = new DynamoDBClient({
  endpoint: db.endpoint,
  region: LOCAL_DYNAMODB_REGION,
  credentials: LOCAL_DYNAMODB_CREDENTIALS,
});
const documents = DynamoDBDocumentClient.from(client);
const tableName = `bench-${randomUUID().slice(0, 8)}`;
try {
  await ensureJobsTable(client, tableName);
  const store = new DynamoJobStore(documents, tableName);
  const start = Date.parse('2026-01-01T00:00:00.000Z');
  for (let index = 0; index < JOBS; index++) {
    const trigger = TRIGGERS[index % TRIGGERS.length] as TriggerType;
    const spec = buildJobSpec({
      name: `job ${index}`,
      trigger_type: trigger,
      prompt_template: 'p',
      ...(trigger === 'cron' && { cron_schedule: '0 9 * * *' }),
      enabled: index % 2 === 0,
    });
    const at = new Date(start + index * 1000).toISOString();
    const job: Job = { id: `job_${randomUUID()}`, ...spec, created_at: at, updated_at: at };
    await store.create(job);
  }

  // Query: the store's own first page of enabled cron jobs.
  const queryPage = async () => store.list({ trigger_type: 'cron', enabled: true, limit: PAGE });

  // Scan baseline: read until a page of matches is collected (unordered, unlike the query).
  const scanPage = async () => {
    let read = 0;
    const matches: unknown[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: 'trigger_type = :t AND enabled = :e',
          ExpressionAttributeValues: { ':t': 'cron', ':e': true },
          Limit: 100,
          ExclusiveStartKey: startKey,
        }),
      );
      read += page.ScannedCount ?? 0;
      matches.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (matches.length < PAGE && startKey);
    return read;
  };

  // Items DynamoDB evaluates (and bills) for the query, counted from its responses.
  let evaluated = 0;
  documents.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      evaluated += (result.output as { ScannedCount?: number }).ScannedCount ?? 0;
      return result;
    },
    { step: 'initialize', name: 'countEvaluated' },
  );

  const time = async (fn: () => Promise<unknown>) => {
    const started = process.hrtime.bigint();
    for (let round = 0; round < ROUNDS; round++) await fn();
    return Number(process.hrtime.bigint() - started) / 1e6 / ROUNDS;
  };
  evaluated = 0;
  await queryPage();
  const queryItemsRead = evaluated;
  const scanItemsRead = await scanPage();
  // Interleave to share the machine's noise between the two.
  let queryMs = 0;
  let scanMs = 0;
  for (let pass = 0; pass < 3; pass++) {
    queryMs += await time(queryPage);
    scanMs += await time(scanPage);
  }
  queryMs /= 3;
  scanMs /= 3;

  console.log(`jobs: ${JOBS}, page: ${PAGE} enabled cron jobs, rounds: ${ROUNDS} x 3`);
  console.log(
    `items read per page   query = ${queryItemsRead}   scan = ${scanItemsRead}   scan/query = ${(scanItemsRead / queryItemsRead).toFixed(1)}x`,
  );
  console.log(
    `ms per page           query = ${queryMs.toFixed(2)}   scan = ${scanMs.toFixed(2)}   scan/query = ${(scanMs / queryMs).toFixed(1)}x`,
  );
} finally {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  client.destroy();
  await db.stop();
}

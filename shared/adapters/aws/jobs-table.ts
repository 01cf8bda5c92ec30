import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

/**
 * The attributes list queries read. Index entries carry only these (not counters or leases), so the
 * frequent writes to those — a run bumping its job's execution count — cost no index writes.
 */
const LISTED_ATTRIBUTES = ['doc', 'enabled', 'version'];

/** Index names, key attributes and projections; the CDK stack declares the same table from these. */
export const JOBS_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expires_at',
  indexes: {
    /** Every job (and, in their own partition, every entity), newest first. */
    all: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projected: LISTED_ATTRIBUTES },
    /** Jobs of one trigger type, newest first. */
    byTrigger: { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projected: LISTED_ATTRIBUTES },
    /** Enabled (or disabled) jobs, newest first. */
    byEnabled: { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk', projected: LISTED_ATTRIBUTES },
    /** A job's executions, newest first; keys only, written once per run (see execution-item.ts). */
    history: { name: 'gsi4', partitionKey: 'gsi4pk', sortKey: 'gsi4sk', projected: [] as string[] },
    /** Failed and timed-out executions of every job, in 16 partitions; keys only, sparse. */
    failures: { name: 'gsi5', partitionKey: 'gsi5pk', sortKey: 'gsi5sk', projected: [] as string[] },
  },
} as const;

export function jobsTableDefinition(tableName: string): CreateTableCommandInput {
  const indexes = Object.values(JOBS_TABLE.indexes);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: JOBS_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: JOBS_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: JOBS_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: JOBS_TABLE.sortKey, AttributeType: 'S' },
      ...indexes.flatMap((index) => [
        { AttributeName: index.partitionKey, AttributeType: 'S' as const },
        { AttributeName: index.sortKey, AttributeType: 'S' as const },
      ]),
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection:
        index.projected.length === 0
          ? { ProjectionType: 'KEYS_ONLY' as const }
          : { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.projected] },
    })),
  };
}

/**
 * Creates the table if it is missing, or adds the indexes a table made by an earlier version lacks, and
 * waits until it is usable; used where there is no deploy step (the local runtime, tests).
 */
export async function ensureJobsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
    await addMissingIndexes(client, tableName, described.Table?.GlobalSecondaryIndexes ?? []);
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await client.send(new CreateTableCommand(jobsTableDefinition(tableName)));
  } catch (error) {
    // Another process created it between our describe and create: that is the state we wanted.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: JOBS_TABLE.ttlAttribute, Enabled: true },
    }),
  );
}

async function addMissingIndexes(
  client: DynamoDBClient,
  tableName: string,
  existing: readonly { IndexName?: string }[],
): Promise<void> {
  const definition = jobsTableDefinition(tableName);
  const names = new Set(existing.map((index) => index.IndexName));
  for (const index of definition.GlobalSecondaryIndexes ?? []) {
    if (names.has(index.IndexName)) continue;
    // One index at a time, as DynamoDB requires.
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: definition.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
    for (;;) {
      const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const added = described.Table?.GlobalSecondaryIndexes?.find(
        (candidate) => candidate.IndexName === index.IndexName,
      );
      if (added?.IndexStatus === 'ACTIVE') break;
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
    }
  }
}

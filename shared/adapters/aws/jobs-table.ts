import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
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
    /** Non-terminal executions by when the sweeper must look at them; keys only (ids are in the keys). */
    sweep: { name: 'gsi4', partitionKey: 'gsi4pk', sortKey: 'gsi4sk', projected: [] as string[] },
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

/** Creates the table if it is missing and waits until it is usable; used where there is no deploy step. */
export async function ensureJobsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
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

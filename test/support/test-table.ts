import { randomBytes } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ensureJobsTable } from '../../shared/adapters/aws/jobs-table.js';

export interface TestTable {
  client: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  tableName: string;
  drop(): Promise<void>;
}

/** A fresh table with a random name in the run's DynamoDB Local; `drop()` deletes it. */
export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const client = new DynamoDBClient({
    endpoint: inject('dynamodbEndpoint'),
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tableName = `${prefix}-${randomBytes(6).toString('hex')}`;
  await ensureJobsTable(client, tableName);
  return {
    client,
    documents: DynamoDBDocumentClient.from(client),
    tableName,
    drop: async () => {
      try {
        await client.send(new DeleteTableCommand({ TableName: tableName }));
      } finally {
        client.destroy();
      }
    },
  };
}

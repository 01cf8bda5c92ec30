import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { LOCAL_DYNAMODB_CREDENTIALS, LOCAL_DYNAMODB_REGION } from '../../infra/local/dynamodb-local.js';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime.js';
import { createJsonLogger, parseLogLevel } from '../../shared/adapters/system.js';

export interface TestRuntime extends LocalRuntime {
  /** Stops the runtime, drops its table and removes its data dir. Idempotent. */
  cleanup(): Promise<void>;
}

/**
 * The local runtime in this process, as `npm start` wires it, on a random port, a fresh temp data dir and
 * a random table in the run's shared DynamoDB Local (so it starts no java of its own).
 */
export async function startTestRuntime(): Promise<TestRuntime> {
  const dataDir = await mkdtemp(join(tmpdir(), 'jobs-e2e-'));
  const endpoint = inject('dynamodbEndpoint');
  const tableName = `e2e-${randomBytes(6).toString('hex')}`;
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      dataDir,
      port: 0,
      dynamodbEndpoint: endpoint,
      tableName,
      // Quiet unless LOG_LEVEL asks otherwise: request logs would drown the test output.
      logger: createJsonLogger({ level: parseLogLevel(process.env.LOG_LEVEL, 'silent') }),
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  let cleaning: Promise<void> | undefined;
  const cleanup = async () => {
    await runtime.stop();
    const client = new DynamoDBClient({
      endpoint,
      region: LOCAL_DYNAMODB_REGION,
      credentials: LOCAL_DYNAMODB_CREDENTIALS,
    });
    try {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
    } finally {
      client.destroy();
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

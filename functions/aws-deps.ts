import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoJobStore } from '../shared/adapters/aws/dynamo-job-store.js';
import { SecretsManagerApiKeys } from '../shared/adapters/aws/secrets-manager-api-keys.js';
import { createJsonLogger, parseLogLevel, randomIds, systemClock } from '../shared/adapters/system.js';
import type { ApiDeps } from '../shared/http/api-handler.js';

/** The AWS composition root: adapters chosen from the function's environment. */
function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

export function awsApiDeps(): ApiDeps {
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  return {
    jobs: new DynamoJobStore(dynamodb, requireEnv('TABLE_NAME')),
    apiKeys: new SecretsManagerApiKeys(new SecretsManagerClient({}), requireEnv('API_KEY_SECRET_ARN')),
    clock: systemClock,
    ids: randomIds,
    logger: createJsonLogger({ level: parseLogLevel(process.env.LOG_LEVEL) }),
  };
}

import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../infra/local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoint of the run's shared, in-memory DynamoDB Local; tests create their own random tables in it. */
    dynamodbEndpoint: string;
  }
}

interface SharedInstance {
  started: Promise<DynamoDbLocal>;
  users: number;
}

// Vitest runs a global setup once per project that inherits it (each with its own module instance), so
// the instance lives on globalThis and the last teardown stops it: one java for the whole run.
const PROJECTS_USING_DYNAMODB = ['integration', 'e2e'];
const SHARED = Symbol.for('serverless-jobs.test.dynamodb-local');
const registry = globalThis as typeof globalThis & { [SHARED]?: SharedInstance };

/**
 * Vitest global setup: one in-memory DynamoDB Local for the whole run, stopped by the teardown (which
 * vitest also runs when the run is interrupted). Should vitest die abruptly instead, the orphan guard of
 * `startDynamoDbLocal` still kills java.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Only these projects talk to DynamoDB; unit and infra runs (and the root) need no java.
  if (!PROJECTS_USING_DYNAMODB.includes(project.name)) return async () => {};
  let shared = registry[SHARED];
  if (!shared) {
    shared = { started: startDynamoDbLocal({ dataPath: null }), users: 0 };
    registry[SHARED] = shared;
  }
  const instance = shared;
  instance.users++;
  let db: DynamoDbLocal;
  try {
    db = await instance.started;
  } catch (error) {
    instance.users--;
    if (registry[SHARED] === instance) delete registry[SHARED];
    throw error;
  }
  project.provide('dynamodbEndpoint', db.endpoint);
  return async () => {
    instance.users--;
    if (instance.users > 0) return;
    if (registry[SHARED] === instance) delete registry[SHARED];
    await db.stop();
  };
}

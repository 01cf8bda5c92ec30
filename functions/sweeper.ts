import type { Context } from 'aws-lambda';
import { makeSweeperHandler } from '../shared/handlers/sweeper-handler.js';
import { awsSweeperDeps } from './aws-deps.js';

// Built on the first invocation and kept for the life of the container, so importing this module
// needs no environment and the clients are created once.
let sweeper: ReturnType<typeof makeSweeperHandler> | undefined;

export const handler = (event: unknown, context: Context) => {
  sweeper ??= makeSweeperHandler(awsSweeperDeps());
  return sweeper(event, context);
};

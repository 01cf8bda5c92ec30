import type { Context, SQSEvent } from 'aws-lambda';
import { makeWorkerHandler } from '../shared/handlers/worker-handler.js';
import { awsWorkerDeps } from './aws-deps.js';

// Built on the first invocation and kept for the life of the container, so importing this module
// needs no environment and the clients are created once.
let worker: ReturnType<typeof makeWorkerHandler> | undefined;

export const handler = (event: SQSEvent, context: Context) => {
  if (!worker) {
    const { deps, maxReceiveCount } = awsWorkerDeps();
    worker = makeWorkerHandler(deps, { maxReceiveCount });
  }
  return worker(event, context);
};

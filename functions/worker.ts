import { makeWorkerHandler } from '../shared/handlers/worker-handler.js';
import { awsWorkerDeps } from './aws-deps.js';
import { lazyHandler } from './tracing.js';

export const handler = lazyHandler((tracing) =>
  makeWorkerHandler(awsWorkerDeps(tracing), {
    maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? 5),
  }),
);

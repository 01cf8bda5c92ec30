import { makeWorkerHandler } from '../shared/handlers/worker-handler.js';
import { awsWorkerDeps } from './aws-deps.js';
import { lazyHandler } from './tracing.js';

export const handler = lazyHandler((tracing) => {
  const { deps, maxReceiveCount } = awsWorkerDeps(tracing);
  return makeWorkerHandler(deps, { maxReceiveCount });
});

import { makeSweeperHandler } from '../shared/handlers/sweeper-handler.js';
import { awsSweeperDeps } from './aws-deps.js';
import { lazyHandler } from './tracing.js';

export const handler = lazyHandler((tracing) => makeSweeperHandler(awsSweeperDeps(tracing)));

import { makeDispatchHandler } from '../shared/handlers/dispatch-handler.js';
import { awsDispatchDeps } from './aws-deps.js';
import { lazyHandler } from './tracing.js';

export const handler = lazyHandler((tracing) => makeDispatchHandler(awsDispatchDeps(tracing)));

import type { Context } from 'aws-lambda';
import { makeDispatchHandler } from '../shared/handlers/dispatch-handler.js';
import { awsDispatchDeps } from './aws-deps.js';

// Built on the first invocation and kept for the life of the container, so importing this module
// needs no environment and the clients are created once.
let dispatch: ReturnType<typeof makeDispatchHandler> | undefined;

export const handler = (event: unknown, context: Context) => {
  dispatch ??= makeDispatchHandler(awsDispatchDeps());
  return dispatch(event, context);
};

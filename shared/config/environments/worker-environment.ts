import { defineEnvironment, runVariables, variables } from '../environment.js';

/**
 * A worker function: opens signing secrets, tells targets where to call back, and fails a run on its message's
 * last delivery. It starts no run, so it needs no retention.
 */
export const workerEnvironment = defineEnvironment({
  ...runVariables,
  secretsKeyArn: variables.secretsKeyArn,
  publicBaseUrl: variables.publicBaseUrl,
  maxReceiveCount: variables.maxReceiveCount,
});

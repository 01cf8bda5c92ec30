import { defineEnvironment, runVariables, variables } from '../environment.js';

/**
 * A worker function: opens signing secrets, tells targets where to call back, and fails a run on its message's
 * last delivery. It starts no run, but it pauses jobs after failed runs (alerting), and records that in the
 * job's audit trail, whose entries are kept as long as runs: hence the retention.
 */
export const workerEnvironment = defineEnvironment({
  ...runVariables,
  secretsKeyArn: variables.secretsKeyArn,
  publicBaseUrl: variables.publicBaseUrl,
  maxReceiveCount: variables.maxReceiveCount,
  executionRetentionDays: variables.executionRetentionDays,
});

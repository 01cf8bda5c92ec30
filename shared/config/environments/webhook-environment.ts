import { defineEnvironment, runVariables, variables } from '../environment.js';

/** The webhook ingress: opens webhook secrets and starts runs. */
export const webhookEnvironment = defineEnvironment({
  ...runVariables,
  secretsKeyArn: variables.secretsKeyArn,
  executionRetentionDays: variables.executionRetentionDays,
});

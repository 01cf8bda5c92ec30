import { defineEnvironment, runVariables, schedulingVariables, variables } from '../environment.js';

/** The control-plane API function: runs, secrets, API keys, and the schedules of cron jobs. */
export const apiEnvironment = defineEnvironment({
  ...runVariables,
  secretsKeyArn: variables.secretsKeyArn,
  apiKeySecretArn: variables.apiKeySecretArn,
  authMode: variables.authMode,
  executionRetentionDays: variables.executionRetentionDays,
  ...schedulingVariables,
});

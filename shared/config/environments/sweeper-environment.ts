import { defineEnvironment, runVariables, schedulingVariables, variables } from '../environment.js';

/**
 * The sweeper: sweeps runs, checks watched jobs for missed fires and overdue runs, sends the notification outbox
 * (opening channels' signing secrets), and reconciles schedules. Its run service takes the retention like the API's, so that
 * any run it ever starts expires like the others rather than on a built-in default.
 */
export const sweeperEnvironment = defineEnvironment({
  ...runVariables,
  executionRetentionDays: variables.executionRetentionDays,
  secretsKeyArn: variables.secretsKeyArn,
  ...schedulingVariables,
});

import { defineEnvironment, runVariables, schedulingVariables, variables } from '../environment.js';

/**
 * The sweeper: sweeps runs and reconciles schedules. Its run service takes the retention like the API's, so that
 * any run it ever starts expires like the others rather than on a built-in default.
 */
export const sweeperEnvironment = defineEnvironment({
  ...runVariables,
  executionRetentionDays: variables.executionRetentionDays,
  ...schedulingVariables,
});

import { defineEnvironment, runVariables, variables } from '../environment.js';

/** The dispatch function: starts the run of one cron fire. */
export const dispatchEnvironment = defineEnvironment({
  ...runVariables,
  executionRetentionDays: variables.executionRetentionDays,
});

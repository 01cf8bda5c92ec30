/**
 * Reference: "Manual Trigger". Runs jobs now: one with parameters for its prompt template, one with
 * a config override for this run only. Creates the two jobs first and waits for both runs to finish.
 *
 *   npx tsx examples/09-trigger-job.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (deployment-team-uuid, backup-agent-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection, waitForExecution } from './support.js';

const client = new ControlPlaneClient(localConnection());

const deploy = await client.jobs.create({
  name: 'Deploy on Push',
  trigger_type: 'webhook', // webhook jobs can be triggered by hand too
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'deployment-team-uuid',
  prompt_template: 'Deploy branch {{ branch_name }} to {{ environment }} ',
});
const backup = await client.jobs.create({
  name: 'Nightly Backup',
  trigger_type: 'manual',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'backup-agent-uuid',
  prompt_template: 'Perform full database backup of {{ service }}',
});

try {
  // Trigger with parameters
  const result = await client.jobs.trigger(deploy.id, {
    parameters: {
      branch_name: 'main',
      environment: 'production',
    },
  });
  console.log(`Workflow ID: ${result.workflow_id}`);
  console.log(`Execution ID: ${result.execution_id}`);
  console.log(`Status: ${result.status}`);

  // Trigger with config override
  const overridden = await client.jobs.trigger(backup.id, {
    parameters: { service: 'api' },
    config_override: {
      timeout: 7200,
    },
  });
  console.log(`Execution ID: ${overridden.execution_id}`);

  // A trigger answers at once ("queued"); the run happens on a worker. Wait for both to finish.
  for (const [jobId, executionId] of [
    [deploy.id, result.execution_id],
    [backup.id, overridden.execution_id],
  ] as const) {
    const run = await waitForExecution(client, jobId, executionId);
    console.log(
      `Execution ${run.execution_id} ${run.status}: "${run.prompt}" (config ${JSON.stringify(run.config)})`,
    );
  }
} finally {
  await cleanUp(client, deploy.id);
  await cleanUp(client, backup.id);
}

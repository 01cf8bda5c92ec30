/**
 * Reference: "Get Execution History". Creates a manual job, runs it three times, then prints its
 * history, newest first.
 *
 *   npx tsx examples/11-execution-history.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers the default workflow).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection, waitForExecution } from './support.js';

const client = new ControlPlaneClient(localConnection());

const { id: jobId } = await client.jobs.create({
  name: 'Emergency Rollback',
  trigger_type: 'manual',
  planning_mode: 'predefined_workflow',
  prompt_template: 'Rollback service {{ service_name }} to version {{ version }} ',
});

try {
  for (const version of ['v1.4.0', 'v1.3.2', 'v1.3.1']) {
    const { execution_id } = await client.jobs.trigger(jobId, {
      parameters: { service_name: 'checkout', version },
    });
    await waitForExecution(client, jobId, execution_id);
  }

  // Get recent executions
  const history = await client.jobs.get_executions(jobId, {
    limit: 50,
    offset: 0,
  });
  console.log(`Total executions: ${history.total_count}`);
  for (const execution of history.executions) {
    console.log(`Execution ${execution.execution_id}:`);
    console.log(`  Status: ${execution.status}`);
    console.log(`  Started: ${execution.started_at}`);
    console.log(`  Duration: ${execution.duration_ms}ms`);
    if (execution.error_message) {
      console.log(`  Error: ${execution.error_message}`);
    }
  }
} finally {
  await cleanUp(client, jobId);
}

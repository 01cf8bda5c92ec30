/**
 * Reference: "Complete Example". Creates a weekly cron job, runs it once by hand to test it, checks
 * its history, then disables and re-enables it.
 *
 *   npx tsx examples/13-complete-example.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers security-team-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection, waitForExecution } from './support.js';

const client = new ControlPlaneClient(localConnection());

// 1. Create a cron job
const job = await client.jobs.create({
  name: 'Weekly Security Scan',
  description: 'Scan all repositories for vulnerabilities',
  trigger_type: 'cron',
  cron_schedule: '0 0 * * 0', // Every Sunday at midnight
  cron_timezone: 'UTC',
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'security-team-uuid',
  prompt_template: 'Scan all repositories and report vulnerabilities',
  executor_type: 'specific_queue',
  worker_queue_name: 'security',
  enabled: true,
});
console.log(`Created job: ${job.id}`);

try {
  // 2. Manually trigger a test run
  const result = await client.jobs.trigger(job.id, {
    parameters: {},
  });
  console.log(`Test execution started: ${result.execution_id}`);

  // 3. Check execution history, once the run has finished (instead of sleeping a fixed 5 s)
  await waitForExecution(client, job.id, result.execution_id);
  const history = await client.jobs.get_executions(job.id, { limit: 1 });
  const latest = history.executions[0];
  if (latest) {
    console.log(`Latest execution status: ${latest.status}`);
  }

  // 4. Temporarily disable job
  await client.jobs.disable(job.id);
  console.log('Job disabled');

  // 5. Re-enable job
  await client.jobs.enable(job.id);
  console.log('Job re-enabled');
} finally {
  await cleanUp(client, job.id);
}

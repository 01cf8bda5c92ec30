/**
 * Reference: "Update Job". Partial updates: only the fields sent change. Creates a cron job to update
 * (the reference updates one you already have).
 *
 *   npx tsx examples/07-update-job.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers backup-agent-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

const { id: jobId } = await client.jobs.create({
  name: 'Nightly Backup',
  trigger_type: 'cron',
  cron_schedule: '0 2 * * *',
  cron_timezone: 'America/New_York',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'backup-agent-uuid',
  prompt_template: 'Perform full database backup',
});

try {
  // Update cron schedule
  let updatedJob = await client.jobs.update(jobId, {
    cron_schedule: '0 10 * * *', // Change to 10 AM
    cron_timezone: 'UTC',
  });
  console.log(`Schedule: ${updatedJob.cron_schedule} (${updatedJob.cron_timezone})`);

  // Update prompt template
  updatedJob = await client.jobs.update(jobId, {
    prompt_template: 'Updated prompt with {{ new_variable }} ',
  });
  console.log(`Prompt template: ${updatedJob.prompt_template}`);

  // Disable job
  updatedJob = await client.jobs.update(jobId, {
    enabled: false,
  });
  console.log(`Enabled: ${updatedJob.enabled}`);
} finally {
  await cleanUp(client, jobId);
}

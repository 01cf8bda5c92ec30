/**
 * Reference: "Enable/Disable Job". Enabling a cron job schedules it; disabling pauses it, and a
 * disabled job cannot be triggered. Creates a disabled cron job to switch on and off.
 *
 *   npx tsx examples/10-enable-disable.ts [--keep]
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
  enabled: false,
});

try {
  // Enable a job
  const enabledJob = await client.jobs.enable(jobId);
  console.log(`Job enabled: ${enabledJob.enabled}`);
  console.log(`  Next run at: ${enabledJob.next_run_at}`);

  // Disable a job
  const disabledJob = await client.jobs.disable(jobId);
  console.log(`Job disabled: ${!disabledJob.enabled}`);
  console.log(`  Next run at: ${disabledJob.next_run_at ?? 'none while disabled'}`);
} finally {
  await cleanUp(client, jobId);
}

/**
 * Reference: "Create Job", "Cron Job". A job that runs on a schedule: every day at 2 AM New York time.
 *
 *   npx tsx examples/04-create-cron-job.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers backup-agent-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

const job = await client.jobs.create({
  name: 'Nightly Backup',
  description: 'Backup production database',
  trigger_type: 'cron',
  cron_schedule: '0 2 * * *', // Daily at 2 AM
  cron_timezone: 'America/New_York',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'backup-agent-uuid',
  prompt_template: 'Perform full database backup',
  executor_type: 'specific_queue',
  worker_queue_name: 'production',
  enabled: true,
});
console.log(`Cron job created: ${job.id}`);
console.log(`Next run at: ${job.next_run_at} (UTC)`);

await cleanUp(client, job.id);

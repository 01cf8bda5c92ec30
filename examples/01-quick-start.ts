/**
 * Reference: "Quick Start". Lists the jobs, then creates a cron job that checks the health of the
 * production services every day at 9 AM (UTC).
 *
 *   npx tsx examples/01-quick-start.ts [--keep]
 *
 * Needs `npm start` running and `npx tsx examples/00-setup.ts` run once (it registers agent-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection } from './support.js';

// Reads JOBS_API_URL and JOBS_API_KEY, or the local defaults (see support.ts).
const client = new ControlPlaneClient(localConnection());

// List all jobs
const jobs = await client.jobs.list();
console.log(`Found ${jobs.length} job(s)`);

// Create a cron job
const job = await client.jobs.create({
  name: 'Daily Health Check',
  trigger_type: 'cron',
  cron_schedule: '0 9 * * *', // Every day at 9 AM
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'agent-uuid',
  prompt_template: 'Check the health of all production services',
});
// Only webhook jobs have a webhook URL, so this prints N/A.
console.log(`Created job with webhook URL: ${job.webhook_url ?? 'N/A'}`);
console.log(`Job ID: ${job.id}, next run at ${job.next_run_at}`);

await cleanUp(client, job.id);

/**
 * Reference: "List Jobs". All jobs, then filtered by enabled status and by trigger type.
 *
 *   npx tsx examples/02-list-jobs.ts
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

// List all jobs (the SDK follows the pages for you)
const jobs = await client.jobs.list();

// Filter by enabled status
const enabledJobs = await client.jobs.list({ enabled: true });
const disabledJobs = await client.jobs.list({ enabled: false });

// Filter by trigger type
const cronJobs = await client.jobs.list({ trigger_type: 'cron' });
const webhookJobs = await client.jobs.list({ trigger_type: 'webhook' });
const manualJobs = await client.jobs.list({ trigger_type: 'manual' });

console.log(`All jobs: ${jobs.length}`);
console.log(`Enabled: ${enabledJobs.length}, disabled: ${disabledJobs.length}`);
console.log(`Cron: ${cronJobs.length}, webhook: ${webhookJobs.length}, manual: ${manualJobs.length}`);
for (const job of jobs) {
  console.log(`- ${job.id}  ${job.name} (${job.trigger_type}, ${job.enabled ? 'enabled' : 'disabled'})`);
}

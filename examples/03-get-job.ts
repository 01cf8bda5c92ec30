/**
 * Reference: "Get Job". Creates a webhook job to look at (the reference reads one you already have),
 * gets it by id and prints its details.
 *
 *   npx tsx examples/03-get-job.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers deployment-team-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

const { id: jobId } = await client.jobs.create({
  name: 'Deploy on Push',
  trigger_type: 'webhook',
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'deployment-team-uuid',
  prompt_template: 'Deploy branch {{ branch_name }} to {{ environment }} ',
});

try {
  const job = await client.jobs.get(jobId);
  console.log(`Job: ${job.name}`);
  console.log(`Trigger Type: ${job.trigger_type}`);
  console.log(`Enabled: ${job.enabled}`);
  if (job.trigger_type === 'cron') {
    console.log(`Schedule: ${job.cron_schedule}`);
  } else if (job.trigger_type === 'webhook') {
    console.log(`Webhook URL: ${job.webhook_url}`);
  }
} finally {
  await cleanUp(client, jobId);
}

/**
 * Reference: "Create Job", "Webhook Job". A job triggered by signed POSTs to its webhook URL. Save the
 * secret: it is shown only in this answer (12-trigger-webhook.ts shows how to use it).
 *
 *   npx tsx examples/05-create-webhook-job.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers deployment-team-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

const job = await client.jobs.create({
  name: 'Deploy on Push',
  description: 'Deploy application when code is pushed',
  trigger_type: 'webhook',
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'deployment-team-uuid',
  prompt_template: 'Deploy branch {{ branch_name }} to {{ environment }} ',
  executor_type: 'environment',
  environment_name: 'production',
  enabled: true,
});
console.log(`Webhook URL: ${job.webhook_url}`);
console.log(`Webhook Secret: ${job.webhook_secret}`);

await cleanUp(client, job.id);

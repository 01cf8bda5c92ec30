/**
 * Reference: "Delete Job". Deletes a job and its schedule. Creates a cron job to delete first.
 *
 *   npx tsx examples/08-delete-job.ts
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers agent-uuid).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

const { id: jobId } = await client.jobs.create({
  name: 'Short-lived Health Check',
  trigger_type: 'cron',
  cron_schedule: '0 * * * *',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'agent-uuid',
  prompt_template: 'Check the health of all production services',
});
console.log(`Created job: ${jobId}`);

await client.jobs.delete(jobId);
console.log('Job deleted successfully');

/**
 * Reference: "Create Job", "Manual Job". A job that runs only when triggered. It names no entity, so
 * it runs on the deployment's default entity.
 *
 *   npx tsx examples/06-create-manual-job.ts [--keep]
 *
 * Needs `npx tsx examples/00-setup.ts` run once (it registers the default workflow).
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { cleanUp, localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

const job = await client.jobs.create({
  name: 'Emergency Rollback',
  description: 'Rollback to previous version',
  trigger_type: 'manual',
  planning_mode: 'predefined_workflow',
  prompt_template: 'Rollback service {{ service_name }} to version {{ version }} ',
  executor_type: 'auto',
  enabled: true,
});
console.log(`Manual job created: ${job.id}`);
console.log(`Runs on: ${job.entity_id ?? 'the default entity'}`);

await cleanUp(client, job.id);

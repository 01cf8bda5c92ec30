/**
 * Registers the entities the reference's examples name (agent-uuid, backup-agent-uuid,
 * deployment-team-uuid, security-team-uuid) and a default workflow for jobs that name none. They use
 * the `echo` target, which answers every run with the request it got, so the examples succeed without
 * any agent running. Safe to run again: an entity that already exists is left as it is.
 *
 *   npx tsx examples/00-setup.ts
 */
import { ControlPlaneClient, type EntityCreateInput, JobError } from 'serverless-jobs/client';
import { localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

const entities: EntityCreateInput[] = [
  { id: 'agent-uuid', type: 'agent', name: 'Health agent', target: { type: 'echo' } },
  { id: 'backup-agent-uuid', type: 'agent', name: 'Backup agent', target: { type: 'echo' } },
  { id: 'deployment-team-uuid', type: 'team', name: 'Deployment team', target: { type: 'echo' } },
  { id: 'security-team-uuid', type: 'team', name: 'Security team', target: { type: 'echo' } },
];

// Jobs without entity_id (the reference's "Emergency Rollback") run on the deployment's default
// entity. Only claim the default when there is none, so an existing choice is kept.
const hasDefault = (await client.entities.list()).some((entity) => entity.default);
entities.push({
  id: 'default-workflow',
  type: 'workflow',
  name: 'Default workflow',
  target: { type: 'echo' },
  default: !hasDefault,
});

for (const entity of entities) {
  try {
    await client.entities.create(entity);
    console.log(`Created ${entity.type} ${entity.id}${entity.default ? ' (default)' : ''}`);
  } catch (error) {
    if (!(error instanceof JobError && error.status === 409)) throw error;
    console.log(`Exists  ${entity.type} ${entity.id}`);
  }
}
console.log('Setup done: the examples can run now.');

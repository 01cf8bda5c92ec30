import type { EntityCreateInput, EntityType, JobCreateInput } from '../../sdk/index.js';

/*
 * The job bodies of the reference page (/work/shared/spec/jobs-service-reference.txt), field for field
 * and value for value as written there (Python `True` → `true`, the templates' trailing spaces kept),
 * and the entities they name. Tests spread them (`{ ...NIGHTLY_BACKUP, name: 'x' }`) rather than change
 * them.
 */

/** "Quick Start": the cron job it creates. */
export const DAILY_HEALTH_CHECK = {
  name: 'Daily Health Check',
  trigger_type: 'cron',
  cron_schedule: '0 9 * * *',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'agent-uuid',
  prompt_template: 'Check the health of all production services',
} satisfies JobCreateInput;

/** "Create Job": the cron job. */
export const NIGHTLY_BACKUP = {
  name: 'Nightly Backup',
  description: 'Backup production database',
  trigger_type: 'cron',
  cron_schedule: '0 2 * * *',
  cron_timezone: 'America/New_York',
  planning_mode: 'predefined_agent',
  entity_type: 'agent',
  entity_id: 'backup-agent-uuid',
  prompt_template: 'Perform full database backup',
  executor_type: 'specific_queue',
  worker_queue_name: 'production',
  enabled: true,
} satisfies JobCreateInput;

/** "Create Job": the webhook job. */
export const DEPLOY_ON_PUSH = {
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
} satisfies JobCreateInput;

/** "Create Job": the manual job. It names no entity, so it runs on the deployment's default. */
export const EMERGENCY_ROLLBACK = {
  name: 'Emergency Rollback',
  description: 'Rollback to previous version',
  trigger_type: 'manual',
  planning_mode: 'predefined_workflow',
  prompt_template: 'Rollback service {{ service_name }} to version {{ version }} ',
  executor_type: 'auto',
  enabled: true,
} satisfies JobCreateInput;

/** "Complete Example": the cron job it creates. */
export const WEEKLY_SECURITY_SCAN = {
  name: 'Weekly Security Scan',
  description: 'Scan all repositories for vulnerabilities',
  trigger_type: 'cron',
  cron_schedule: '0 0 * * 0',
  cron_timezone: 'UTC',
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'security-team-uuid',
  prompt_template: 'Scan all repositories and report vulnerabilities',
  executor_type: 'specific_queue',
  worker_queue_name: 'security',
  enabled: true,
} satisfies JobCreateInput;

/** Every reference job body by its name, in the order the page shows them. */
export const REFERENCE_JOBS = {
  'Daily Health Check': DAILY_HEALTH_CHECK,
  'Nightly Backup': NIGHTLY_BACKUP,
  'Deploy on Push': DEPLOY_ON_PUSH,
  'Emergency Rollback': EMERGENCY_ROLLBACK,
  'Weekly Security Scan': WEEKLY_SECURITY_SCAN,
} satisfies Record<string, JobCreateInput>;

/** An entity as a test creates it for the reference: answering with the echo target. */
function echoEntity<const T extends EntityType>(id: string, type: T, name: string) {
  return { id, type, name, target: { type: 'echo' } } satisfies EntityCreateInput;
}

/** The entity `DAILY_HEALTH_CHECK` names. */
export const HEALTH_AGENT = echoEntity('agent-uuid', 'agent', 'Health agent');
/** The entity `NIGHTLY_BACKUP` names. */
export const BACKUP_AGENT = echoEntity('backup-agent-uuid', 'agent', 'Backup agent');
/** The entity `DEPLOY_ON_PUSH` names. */
export const DEPLOYMENT_TEAM = echoEntity('deployment-team-uuid', 'team', 'Deployment team');
/** The entity `WEEKLY_SECURITY_SCAN` names. */
export const SECURITY_TEAM = echoEntity('security-team-uuid', 'team', 'Security team');

/** Every entity a reference job names; `EMERGENCY_ROLLBACK` names none and runs on the default entity. */
export const REFERENCE_ENTITIES = [HEALTH_AGENT, BACKUP_AGENT, DEPLOYMENT_TEAM, SECURITY_TEAM];

import type { Execution, TriggerResponse } from '../../domain/execution.js';
import type { Job } from '../../domain/job.js';
import type { Example } from '../route-definition.js';

/*
 * The values the API document's examples are made of: the reference's three jobs (a cron, a webhook
 * and a manual one), a finished run and two entities. The document's tests check every example against
 * its schema and feed the request examples to the real handler.
 */

export const example = (summary: string, value: unknown): Example => ({ summary, value });

export const JOB_ID = 'job_3f6c1a52-8a4e-4b8e-9d0e-2c7b5e1f4a90';
export const WEBHOOK_JOB_ID = 'job_9b2d4e61-0c3a-4f7e-8a15-6d2c9e0b7f34';
const MANUAL_JOB_ID = 'job_5e8a7c30-2b1d-4c9f-a6e4-0f3b8d2c1a57';
export const EXECUTION_ID = 'exec_0m5xy3k0w4f1d2c3b4a5968778695';
export const WORKFLOW_ID = 'wf_0m5xy3k0w4f1d2c3b4a5968778695';
export const WEBHOOK_PATH = 'kJ3xQ9vR2mT8wZ5yB1nC7dF4gH6jL0pS';
export const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw9MiCAZ0yJCY=';
/** The id of the example `http` entity. */
export const ENTITY_ID = 'support-agent';
export const CURSOR = 'eyJhZnRlciI6IjIwMjUtMDEtMTVUMDk6MDA6MDAuMDAwWiNqb2JfM2Y2YzFhNTIifQ';

/** Bodies from the reference: a cron, a webhook and a manual job. */
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
};

export const DEPLOY_ON_PUSH = {
  name: 'Deploy on Push',
  description: 'Deploy application when code is pushed',
  trigger_type: 'webhook',
  planning_mode: 'predefined_team',
  entity_type: 'team',
  entity_id: 'deployment-team-uuid',
  prompt_template: 'Deploy branch {{ branch_name }} to {{ environment }}',
  executor_type: 'environment',
  environment_name: 'production',
  enabled: true,
};

export const EMERGENCY_ROLLBACK = {
  name: 'Emergency Rollback',
  description: 'Rollback to previous version',
  trigger_type: 'manual',
  planning_mode: 'predefined_workflow',
  prompt_template: 'Rollback service {{ service_name }} to version {{ version }}',
  executor_type: 'auto',
  config: { timeout: 900, retry: { max_attempts: 3, backoff_seconds: 30 } },
  enabled: true,
};

const CREATED_AT = '2025-01-15T09:00:00.000Z';

/** The fields every job answer has, with the defaults a create fills in. */
function jobAnswer(id: string, body: Record<string, unknown>): Job {
  return {
    id,
    description: null,
    cron_schedule: null,
    cron_timezone: 'UTC',
    planning_mode: 'on_the_fly',
    entity_type: null,
    entity_id: null,
    system_prompt: null,
    executor_type: 'auto',
    worker_queue_name: null,
    environment_name: null,
    config: {},
    execution_environment: {},
    enabled: true,
    ...(body as Pick<Job, 'name' | 'trigger_type' | 'prompt_template'>),
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    webhook_path: null,
    webhook_url: null,
  };
}

export const CRON_JOB: Job = {
  ...jobAnswer(JOB_ID, NIGHTLY_BACKUP),
  next_run_at: '2025-01-16T07:00:00.000Z',
  schedule_expression: ['cron(0 2 * * ? *)'],
};

export const WEBHOOK_JOB: Job = {
  ...jobAnswer(WEBHOOK_JOB_ID, DEPLOY_ON_PUSH),
  webhook_path: WEBHOOK_PATH,
  webhook_url: `https://jobs.example.com/webhooks/${WEBHOOK_PATH}`,
};

export const MANUAL_JOB: Job = jobAnswer(MANUAL_JOB_ID, EMERGENCY_ROLLBACK);

export const EXECUTION: Execution = {
  execution_id: EXECUTION_ID,
  workflow_id: WORKFLOW_ID,
  job_id: JOB_ID,
  job_name: 'Nightly Backup',
  status: 'succeeded',
  trigger_type: 'cron',
  parameters: {},
  prompt: 'Perform full database backup',
  system_prompt: null,
  config: {},
  entity_id: 'backup-agent-uuid',
  entity_type: 'agent',
  queue: 'production',
  environment_name: null,
  metadata: {},
  dedupe_key: 'cron:2025-01-15T07:00:00.000Z',
  scheduled_at: '2025-01-15T07:00:00.000Z',
  lateness_ms: 840,
  attempt: 1,
  max_attempts: 1,
  created_at: '2025-01-15T07:00:00.412Z',
  started_at: '2025-01-15T07:00:00.840Z',
  finished_at: '2025-01-15T07:03:12.095Z',
  duration_ms: 191255,
  deadline_at: '2025-01-15T08:00:00.840Z',
  error_message: null,
  output: { backup: 's3://backups/prod/2025-01-15.dump', size_bytes: 48213770 },
  output_truncated: false,
};

export const TRIGGERED: TriggerResponse = {
  workflow_id: WORKFLOW_ID,
  execution_id: EXECUTION_ID,
  status: 'queued',
};

export const HTTP_ENTITY = {
  id: ENTITY_ID,
  type: 'agent',
  name: 'Support agent',
  description: 'Answers support tickets',
  target: { type: 'http', url: 'https://agents.example.com/support', timeout_seconds: 60 },
  default: false,
  created_at: CREATED_AT,
  updated_at: CREATED_AT,
};

export const LAMBDA_ENTITY = {
  id: 'backup-agent-uuid',
  type: 'agent',
  name: 'Backup agent',
  description: null,
  target: { type: 'lambda', function_name: 'backup-agent:live' },
  default: false,
  created_at: CREATED_AT,
  updated_at: CREATED_AT,
};

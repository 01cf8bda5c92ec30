export type {
  Entity,
  EntityCreateInput,
  EntityPatchInput,
  EntityTarget,
  EntityWithSecret,
} from '../shared/domain/entity.js';
export type { ErrorDetail } from '../shared/domain/errors.js';
export type {
  Execution,
  ExecutionListResponse,
  ExecutionStatus,
  TriggerResponse,
} from '../shared/domain/execution.js';
export type {
  EntityType,
  ExecutorType,
  Job,
  JobCreateInput,
  JobListResponse,
  JobPatchInput,
  PlanningMode,
  TriggerType,
} from '../shared/domain/job.js';
export { JobCreateSchema, JobPatchSchema, JobSchema } from '../shared/domain/job.js';
export {
  ControlPlaneClient,
  type ControlPlaneClientOptions,
  EntitiesResource,
  type ExecutionHistoryOptions,
  type JobListOptions,
  type JobPageOptions,
  JobsResource,
  type SchedulePreview,
  type TriggerOptions,
} from './client.js';
export { JobError } from './errors.js';
export { signWebhookPayload, standardWebhookHeaders } from './webhooks.js';

export type { ErrorDetail } from '../shared/domain/errors.js';
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
  type JobListOptions,
  type JobPageOptions,
  JobsResource,
} from './client.js';
export { JobError } from './errors.js';

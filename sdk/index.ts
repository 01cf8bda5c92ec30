/**
 * The Serverless Jobs SDK: `import { ControlPlaneClient } from 'serverless-jobs/client'`.
 *
 * Its runtime code needs nothing but Node 20+ and the platform's `fetch`: types come from the service's
 * schemas (`import type`, erased at build), never the schemas themselves.
 */

export type { ApiKey, ApiKeyWithSecret, Scope } from '../shared/domain/access.js';
export type { AuditActor, AuditEntry } from '../shared/domain/audit.js';
export type {
  Entity,
  EntityCreateInput,
  EntityPatchInput,
  EntityTarget,
  EntityWithSecret,
} from '../shared/domain/entity.js';
export type { ErrorDetail } from '../shared/domain/errors.js';
export type {
  CallbackRequest,
  Execution,
  ExecutionListResponse,
  ExecutionStatus,
  RecentExecutionListResponse,
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
export { ApiKeysResource } from './api-keys.js';
export type { ControlPlaneClientOptions } from './client.js';
export {
  describeTarget,
  EntitiesResource,
  type EntityListResponse,
  type EntityPageOptions,
} from './entities.js';
export {
  AuthError,
  ConflictError,
  JobError,
  type JobErrorOptions,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  TimeoutError,
  ValidationError,
} from './errors.js';
export {
  ExecutionsResource,
  type RecentExecutionsFilter,
  type RecentExecutionsOptions,
} from './executions.js';
export type { AwsCredentials, IamAuth } from './iam-signing.js';
export {
  type ExecutionHistoryOptions,
  type IterateOptions,
  type JobHistoryResponse,
  type JobListOptions,
  type JobPageOptions,
  JobsResource,
  type SchedulePreview,
  type TriggerOptions,
  type WebhookDeliveryOptions,
  type WebhookSecretRotation,
} from './jobs.js';
export { ControlPlaneClient } from './node-client.js';
export { signWebhookPayload, standardWebhookHeaders } from './webhooks.js';

/**
 * The SDK for browsers (the console is built from it): `ControlPlaneClient` and its errors, without the
 * webhook signing helpers, whose HMACs need `node:crypto`. Pass `baseUrl` and `apiKey` explicitly: a
 * page has no environment to read them from.
 */
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
export { ControlPlaneClient, type ControlPlaneClientOptions } from './client.js';
export { describeTarget, type EntityListResponse } from './entities.js';
export {
  AuthError,
  ConflictError,
  JobError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  TimeoutError,
  ValidationError,
} from './errors.js';
export type { RecentExecutionsFilter, RecentExecutionsOptions } from './executions.js';
export type {
  ExecutionHistoryOptions,
  JobPageOptions,
  SchedulePreview,
  TriggerOptions,
  WebhookSecretRotation,
} from './jobs.js';

import { createApiKey, deleteApiKey, getJobHistory, listApiKeys } from './access.js';
import { createEntity, deleteEntity, getEntity, listEntities, updateEntity } from './entities.js';
import {
  cancelExecution,
  getExecution,
  getExecutions,
  listRecentExecutions,
  replayExecution,
  reportExecutionResult,
} from './executions.js';
import {
  createJob,
  deleteJob,
  disableJob,
  enableJob,
  getJob,
  listJobs,
  triggerJob,
  updateJob,
} from './jobs.js';
import {
  createNotificationChannel,
  deleteNotificationChannel,
  getNotificationChannel,
  listNotificationChannels,
  testNotificationChannel,
  updateNotificationChannel,
} from './notification-channels.js';
import { previewSchedule } from './schedules.js';
import { getHealth, getOpenApiDocument } from './service.js';
import { rotateWebhookSecret, WEBHOOK_ROUTES } from './webhooks.js';

/*
 * The route table: every route the service serves, each defined once. The router, request validation
 * and the API document read it; the stack makes an API Gateway route of each. Keys are operationIds;
 * the order is the router's (and the document's).
 */

/** Served by the API function. */
export const API_ROUTES = {
  getHealth,
  getOpenApiDocument,
  listJobs,
  createJob,
  getJob,
  rotateWebhookSecret,
  updateJob,
  deleteJob,
  enableJob,
  disableJob,
  triggerJob,
  getExecutions,
  getExecution,
  cancelExecution,
  replayExecution,
  listRecentExecutions,
  reportExecutionResult,
  previewSchedule,
  listEntities,
  createEntity,
  getEntity,
  updateEntity,
  deleteEntity,
  listNotificationChannels,
  createNotificationChannel,
  getNotificationChannel,
  updateNotificationChannel,
  deleteNotificationChannel,
  testNotificationChannel,
  getJobHistory,
  listApiKeys,
  createApiKey,
  deleteApiKey,
} as const;

export { WEBHOOK_ROUTES };

/** Every route, in document order. */
export const ROUTES = { ...API_ROUTES, ...WEBHOOK_ROUTES } as const;

export type ApiRoutes = typeof API_ROUTES;
export type WebhookRoutes = typeof WEBHOOK_ROUTES;

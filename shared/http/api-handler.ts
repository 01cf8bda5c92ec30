import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { AlertService } from '../app/alert-service.js';
import type { ChannelService } from '../app/channel-service.js';
import { EntityService } from '../app/entity-service.js';
import { JobService } from '../app/job-service.js';
import { RunService } from '../app/run-service.js';
import { cronDetails, previewSchedule } from '../app/schedule-preview.js';
import { WebhookSecretService } from '../app/webhook-service.js';
import { runDefaults } from '../config/defaults.js';
import type { Job } from '../domain/job.js';
import { scopedToInvocation } from '../handlers/invocation-scope.js';
import type {
  ApiKeyVerifier,
  Clock,
  DeploymentConfig,
  EntityStore,
  ExecutionStore,
  IdGenerator,
  JobStore,
  Logger,
  Metrics,
  RunQueue,
  Scheduler,
  SecretBox,
  WebhookStore,
} from '../ports.js';
import { headWithoutBody, httpBoundary } from './middlewares.js';
import { openApiDocumentFile, REPOSITORY_OPENAPI_DOCUMENT } from './openapi-file.js';
import type { HttpRequest } from './request.js';
import { type HttpResponse, json, jsonText, noContent } from './responses.js';
import { bearerToken, type RouteHandlers, serveRoutes } from './router.js';
import { API_ROUTES, type ApiRoutes } from './routes/index.js';

export interface ApiDeps {
  jobs: JobStore;
  webhooks: WebhookStore;
  entities: EntityStore;
  executions: ExecutionStore;
  queue: RunQueue;
  secrets: SecretBox;
  deployment: DeploymentConfig;
  apiKeys: ApiKeyVerifier;
  scheduler: Scheduler;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  metrics: Metrics;
  /** How long execution records are kept. @default 90 */
  retentionDays?: number;
  /** Notification channels and the jobs' alert counters (see `buildAlerting`). */
  alerting?: { channels: ChannelService; alerts: AlertService };
  /**
   * The committed OpenAPI document's text, served at `GET /openapi.json`. A bundle passes
   * `openApiDocumentFile(<its copy>)`.
   * @default the repository's docs/openapi.json, read on first use
   */
  openApiDocument?: () => Promise<string>;
}

/** What the control-plane routes call: services only, never stores. */
export interface ApiServices {
  jobs: JobService;
  entities: EntityService;
  runs: RunService;
  webhookSecrets: WebhookSecretService;
  /** Absent where the runtime wires no alerting: its routes then fail (500) and jobs show no counters. */
  alerting?: { channels: ChannelService; alerts: AlertService };
}

/**
 * A job as answered: a webhook job gets its URL on the address the caller used; a cron job its next
 * fire time and the EventBridge expression(s) it maps to.
 */
function present(job: Job, request: HttpRequest, now: Date): Job {
  return {
    ...job,
    webhook_path: job.webhook_path ?? null,
    webhook_url: job.webhook_path ? `${request.baseUrl}/webhooks/${job.webhook_path}` : null,
    ...cronDetails(job, now),
  };
}

/** The control-plane routes' handlers, in the reference's wire format: one per route of API_ROUTES. */
export function apiRouteHandlers(
  { jobs, entities, runs, webhookSecrets, alerting }: ApiServices,
  { clock, openApiDocument }: { clock: Clock; openApiDocument: () => Promise<string> },
): RouteHandlers<ApiRoutes> {
  const answer = (job: Job, request: HttpRequest) => present(job, request, clock.now());
  const channels = () => {
    if (!alerting) throw new Error('This runtime has no alerting wired.');
    return alerting.channels;
  };
  return {
    getHealth: async () => json(200, { status: 'ok' }),
    getOpenApiDocument: async () => jsonText(200, await openApiDocument()),
    listJobs: async ({ query, request }) => {
      const page = await jobs.list(query);
      return json(200, {
        jobs: page.jobs.map((job) => answer(job, request)),
        next_cursor: page.nextCursor,
      });
    },
    createJob: async ({ body, request }) => {
      const job = await jobs.create(body);
      return json(201, answer(job, request), { location: `/jobs/${job.id}` });
    },
    getJob: async ({ params, request }) => {
      const job = await jobs.get(params.id);
      const [secret, counters] = await Promise.all([
        webhookSecrets.status(job),
        alerting?.alerts.jobView(job.id),
      ]);
      return json(200, {
        ...answer(job, request),
        ...counters,
        ...(secret && {
          webhook_secret_rotated_at: secret.rotatedAt,
          webhook_last_secret_used: secret.lastSecretUsed,
        }),
      });
    },
    rotateWebhookSecret: async ({ params, body }) => json(200, await webhookSecrets.rotate(params.id, body)),
    updateJob: async ({ params, body, request }) =>
      json(200, answer(await jobs.update(params.id, body), request)),
    deleteJob: async ({ params }) => {
      await jobs.delete(params.id);
      return noContent();
    },
    enableJob: async ({ params, request }) =>
      json(200, answer(await jobs.setEnabled(params.id, true), request)),
    disableJob: async ({ params, request }) =>
      json(200, answer(await jobs.setEnabled(params.id, false), request)),
    triggerJob: async ({ params, body, headers }) =>
      json(202, await runs.trigger(params.id, body, headers['Idempotency-Key'])),
    getExecutions: async ({ params, query }) => {
      const page = await runs.listExecutions(params.id, query);
      return json(200, {
        total_count: page.totalCount,
        executions: page.executions,
        next_cursor: page.nextCursor,
      });
    },
    getExecution: async ({ params }) => json(200, await runs.getExecution(params.id, params.eid)),
    cancelExecution: async ({ params }) => json(200, await runs.cancel(params.id, params.eid)),
    reportExecutionResult: async ({ params, body, request }) =>
      json(200, await runs.callback(params.id, bearerToken(request), body)),
    previewSchedule: async ({ query }) => json(200, previewSchedule(query, clock.now())),
    listEntities: async ({ query }) => {
      const page = await entities.list(query);
      return json(200, { entities: page.entities, next_cursor: page.nextCursor });
    },
    createEntity: async ({ body }) => {
      const entity = await entities.create(body);
      return json(201, entity, { location: `/entities/${encodeURIComponent(entity.id)}` });
    },
    getEntity: async ({ params }) => json(200, await entities.get(params.id)),
    updateEntity: async ({ params, body }) => json(200, await entities.update(params.id, body)),
    deleteEntity: async ({ params }) => {
      await entities.delete(params.id);
      return noContent();
    },
    listNotificationChannels: async ({ query }) => {
      const page = await channels().list(query);
      return json(200, { channels: page.channels, next_cursor: page.nextCursor });
    },
    createNotificationChannel: async ({ body }) => {
      const channel = await channels().create(body);
      return json(201, channel, { location: `/notification-channels/${channel.id}` });
    },
    getNotificationChannel: async ({ params }) => json(200, await channels().get(params.id)),
    updateNotificationChannel: async ({ params, body }) =>
      json(200, await channels().update(params.id, body)),
    deleteNotificationChannel: async ({ params }) => {
      await channels().delete(params.id);
      return noContent();
    },
    testNotificationChannel: async ({ params }) => json(200, await channels().test(params.id)),
  };
}

/** The API Lambda's handler; the local runtime serves this very function. */
export function makeApiHandler(deps: ApiDeps) {
  const jobs = new JobService(deps);
  const services: ApiServices = {
    jobs,
    entities: new EntityService(deps),
    runs: new RunService({
      ...deps,
      jobs,
      retentionDays: deps.retentionDays ?? runDefaults.executionRetentionDays,
    }),
    webhookSecrets: new WebhookSecretService({ ...deps, jobs }),
    ...(deps.alerting && { alerting: deps.alerting }),
  };
  const openApiDocument = deps.openApiDocument ?? openApiDocumentFile(REPOSITORY_OPENAPI_DOCUMENT);
  const handlers = apiRouteHandlers(services, { clock: deps.clock, openApiDocument });
  const handler = middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(headWithoutBody())
    .use(httpBoundary(deps.logger))
    .handler(serveRoutes(API_ROUTES, handlers, { apiKeys: deps.apiKeys }));
  return scopedToInvocation(deps.logger, handler);
}

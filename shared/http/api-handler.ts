import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MissingAdapterError, type Services } from '../app/build-services.js';
import { cronDetails, previewSchedule } from '../app/schedule-preview.js';
import type { AuthMode } from '../domain/access.js';
import type { Job } from '../domain/job.js';
import { scopedToInvocation } from '../handlers/invocation-scope.js';
import type { Clock, Logger } from '../ports.js';
import { headWithoutBody, httpBoundary } from './middlewares.js';
import { openApiDocumentFile, REPOSITORY_OPENAPI_DOCUMENT } from './openapi-file.js';
import type { HttpRequest } from './request.js';
import { type HttpResponse, json, jsonText, noContent } from './responses.js';
import { bearerToken, type RouteHandlers, serveRoutes } from './router.js';
import { API_ROUTES, type ApiRoutes } from './routes/index.js';

/** What the control-plane routes call: services only, never stores. */
export type ApiServices = Pick<
  Services,
  'jobs' | 'entities' | 'runs' | 'webhookSecrets' | 'apiKeys' | 'audit'
> &
  Partial<Pick<Services, 'alerting'>>;

export interface ApiDeps {
  /** The use cases; `services.apiKeys` also verifies callers' keys (the deployment's and the stored ones). */
  services: ApiServices;
  clock: Clock;
  logger: Logger;
  /**
   * Which callers the control-plane routes take: API keys, IAM principals authorized by API Gateway, or
   * both. @default 'api-key'
   */
  authMode?: AuthMode;
  /**
   * The committed OpenAPI document's text, served at `GET /openapi.json`. A bundle passes
   * `openApiDocumentFile(<its copy>)`.
   * @default the repository's docs/openapi.json, read on first use
   */
  openApiDocument?: () => Promise<string>;
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
  services: ApiServices,
  { clock, openApiDocument }: { clock: Clock; openApiDocument: () => Promise<string> },
): RouteHandlers<ApiRoutes> {
  const { jobs, entities, runs, webhookSecrets, apiKeys, audit } = services;
  const answer = (job: Job, request: HttpRequest) => present(job, request, clock.now());
  /** Alerting, where the runtime wires it (built on first use; a runtime without its adapters has none). */
  const alerting = () => {
    try {
      return services.alerting;
    } catch (error) {
      if (error instanceof MissingAdapterError) return undefined;
      throw error;
    }
  };
  const channels = () => {
    const wired = alerting();
    if (!wired) throw new Error('This runtime has no alerting wired.');
    return wired.channels;
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
        alerting()?.alerts.jobView(job.id),
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
    replayExecution: async ({ params, headers }) =>
      json(202, await runs.replay(params.id, params.eid, headers['Idempotency-Key'])),
    listRecentExecutions: async ({ query }) => {
      const page = await runs.listRecent(query);
      return json(200, { executions: page.executions, next_cursor: page.nextCursor });
    },
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
    getJobHistory: async ({ params, query }) => {
      const page = await audit.jobHistory(params.id, query);
      // A deleted job's trail stays readable; an id with neither a job nor a trail is unknown.
      if (page.entries.length === 0 && query.cursor === undefined) await jobs.get(params.id);
      return json(200, { history: page.entries, next_cursor: page.nextCursor });
    },
    listApiKeys: async () => json(200, { api_keys: await apiKeys.list() }),
    createApiKey: async ({ body }) => {
      const key = await apiKeys.create(body);
      return json(201, key, { location: `/api-keys/${key.name}` });
    },
    deleteApiKey: async ({ params }) => {
      await apiKeys.delete(params.name);
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
  const openApiDocument = deps.openApiDocument ?? openApiDocumentFile(REPOSITORY_OPENAPI_DOCUMENT);
  const handlers = apiRouteHandlers(deps.services, { clock: deps.clock, openApiDocument });
  const handler = middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(headWithoutBody())
    .use(httpBoundary(deps.logger))
    .handler(
      serveRoutes(API_ROUTES, handlers, {
        callers: { apiKeys: deps.services.apiKeys, mode: deps.authMode ?? 'api-key' },
      }),
    );
  return scopedToInvocation(deps.logger, handler);
}

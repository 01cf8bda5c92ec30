import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { EntityService } from '../app/entities.js';
import { JobService } from '../app/jobs.js';
import { RunService } from '../app/runs.js';
import { cronDetails, previewSchedule } from '../app/schedules.js';
import { rotateWebhookSecret } from '../app/webhooks.js';
import { runDefaults } from '../config/defaults.js';
import { UnauthorizedError, ValidationError } from '../domain/errors.js';
import { type Job, parseJobListQuery, rejectRepeatedParameters } from '../domain/job.js';
import type {
  ApiKeyVerifier,
  Clock,
  DeploymentConfig,
  EntityStore,
  ExecutionStore,
  IdGenerator,
  JobStore,
  Logger,
  RunQueue,
  Scheduler,
  SecretBox,
  WebhookStore,
} from '../ports.js';
import { headWithoutBody, httpBoundary } from './middlewares.js';
import { openApiDocument } from './openapi.js';
import { assertBodyWithinLimit, type HttpRequest, readJsonObject, toHttpRequest } from './request.js';
import { type HttpResponse, json, noContent } from './responses.js';
import { matchRoute, type Route } from './router.js';

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
  /** How long execution records are kept. @default 90 */
  retentionDays?: number;
}

interface Services {
  jobs: JobService;
  entities: EntityService;
  runs: RunService;
  webhooks: WebhookStore;
  deps: ApiDeps;
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

/** The control-plane routes, in the reference's wire format. */
export function apiRoutes({ jobs: service, entities, runs, webhooks, deps }: Services): Route[] {
  const id = (request: HttpRequest) => request.params.id as string;
  const eid = (request: HttpRequest) => request.params.eid as string;
  return [
    { method: 'GET', pattern: '/health', auth: false, handle: async () => json(200, { status: 'ok' }) },
    // Documentation, holding nothing of the deployment: served without an API key.
    {
      method: 'GET',
      pattern: '/openapi.json',
      auth: false,
      handle: async () => json(200, openApiDocument()),
    },
    {
      method: 'GET',
      pattern: '/jobs',
      auth: true,
      handle: async (request) => {
        const page = await service.list(parseJobListQuery(request.query));
        return json(200, {
          jobs: page.jobs.map((job) => present(job, request, deps.clock.now())),
          next_cursor: page.nextCursor,
        });
      },
    },
    {
      method: 'POST',
      pattern: '/jobs',
      auth: true,
      handle: async (request) => {
        const job = await service.create(readJsonObject(request));
        return json(201, present(job, request, deps.clock.now()), { location: `/jobs/${job.id}` });
      },
    },
    {
      method: 'GET',
      pattern: '/jobs/{id}',
      auth: true,
      handle: async (request) => {
        const job = await service.get(id(request));
        const webhook = job.webhook_path ? await webhooks.get(job.webhook_path) : null;
        return json(200, {
          ...present(job, request, deps.clock.now()),
          ...(webhook && {
            webhook_secret_rotated_at: webhook.rotatedAt,
            webhook_last_secret_used: webhook.lastSecretUsed,
          }),
        });
      },
    },
    {
      method: 'POST',
      pattern: '/jobs/{id}/webhook-secret/rotate',
      auth: true,
      handle: async (request) =>
        json(
          200,
          await rotateWebhookSecret(
            deps,
            service,
            id(request),
            request.rawBody.length === 0 ? {} : readJsonObject(request),
          ),
        ),
    },
    {
      method: 'PATCH',
      pattern: '/jobs/{id}',
      auth: true,
      handle: async (request) =>
        json(
          200,
          present(await service.update(id(request), readJsonObject(request)), request, deps.clock.now()),
        ),
    },
    {
      method: 'DELETE',
      pattern: '/jobs/{id}',
      auth: true,
      handle: async (request) => {
        await service.delete(id(request));
        return noContent();
      },
    },
    {
      method: 'POST',
      pattern: '/jobs/{id}/enable',
      auth: true,
      handle: async (request) => {
        assertBodyWithinLimit(request);
        return json(200, present(await service.setEnabled(id(request), true), request, deps.clock.now()));
      },
    },
    {
      method: 'POST',
      pattern: '/jobs/{id}/disable',
      auth: true,
      handle: async (request) => {
        assertBodyWithinLimit(request);
        return json(200, present(await service.setEnabled(id(request), false), request, deps.clock.now()));
      },
    },
    {
      method: 'POST',
      pattern: '/jobs/{id}/trigger',
      auth: true,
      // An empty body is a trigger without parameters, as the reference's `trigger(job_id)` sends.
      handle: async (request) =>
        json(
          202,
          await runs.trigger(
            id(request),
            request.rawBody.length === 0 ? {} : readJsonObject(request),
            request.headers['idempotency-key'],
          ),
        ),
    },
    {
      method: 'GET',
      pattern: '/jobs/{id}/executions',
      auth: true,
      handle: async (request) => {
        const page = await runs.listExecutions(id(request), request.query);
        return json(200, {
          total_count: page.totalCount,
          executions: page.executions,
          next_cursor: page.nextCursor,
        });
      },
    },
    {
      method: 'GET',
      pattern: '/jobs/{id}/executions/{eid}',
      auth: true,
      handle: async (request) => json(200, await runs.getExecution(id(request), eid(request))),
    },
    {
      method: 'POST',
      pattern: '/jobs/{id}/executions/{eid}/cancel',
      auth: true,
      handle: async (request) => {
        assertBodyWithinLimit(request);
        return json(200, await runs.cancel(id(request), eid(request)));
      },
    },
    {
      method: 'POST',
      pattern: '/executions/{id}/callback',
      // Authenticated by the execution's own callback token, not an API key.
      auth: false,
      handle: async (request) => {
        const token = BEARER.exec(request.headers.authorization ?? '')?.[1] ?? null;
        // The body is read only once the token holds, so an unauthenticated caller learns nothing from it.
        return json(200, await runs.callback(id(request), token, () => readJsonObject(request)));
      },
    },
    {
      method: 'GET',
      pattern: '/cron/preview',
      auth: true,
      handle: async (request) => json(200, previewSchedule(request.query, deps.clock.now())),
    },
    {
      method: 'GET',
      pattern: '/entities',
      auth: true,
      handle: async (request) => {
        const page = await entities.list(parsePageQuery(request.query));
        return json(200, { entities: page.entities, next_cursor: page.nextCursor });
      },
    },
    {
      method: 'POST',
      pattern: '/entities',
      auth: true,
      handle: async (request) => {
        const entity = await entities.create(readJsonObject(request));
        return json(201, entity, { location: `/entities/${encodeURIComponent(entity.id)}` });
      },
    },
    {
      method: 'GET',
      pattern: '/entities/{id}',
      auth: true,
      handle: async (request) => json(200, await entities.get(id(request))),
    },
    {
      method: 'PATCH',
      pattern: '/entities/{id}',
      auth: true,
      handle: async (request) => json(200, await entities.update(id(request), readJsonObject(request))),
    },
    {
      method: 'DELETE',
      pattern: '/entities/{id}',
      auth: true,
      handle: async (request) => {
        await entities.delete(id(request));
        return noContent();
      },
    },
  ];
}

function parsePageQuery(query: Record<string, string | undefined>): { limit: number; cursor?: string } {
  rejectRepeatedParameters(query, ['limit', 'cursor']);
  const unknown = Object.keys(query).filter((name) => name !== 'limit' && name !== 'cursor');
  const limitText = query.limit ?? '50';
  const limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN;
  const problems = unknown.map((name) => ({
    path: name,
    message: 'is not a known query parameter',
    code: 'unknown_field',
  }));
  if (!(limit >= 1 && limit <= 100)) {
    problems.push({ path: 'limit', message: 'must be a whole number from 1 to 100', code: 'invalid' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return { limit, ...(query.cursor !== undefined && { cursor: query.cursor }) };
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

async function authenticate(request: HttpRequest, apiKeys: ApiKeyVerifier): Promise<void> {
  const match = BEARER.exec(request.headers.authorization ?? '');
  if (!match || !(await apiKeys.verify(match[1] as string))) throw new UnauthorizedError();
}

/** The API Lambda's handler; the local runtime serves this very function. */
export function makeApiHandler(deps: ApiDeps) {
  const jobs = new JobService(deps);
  const routes = apiRoutes({
    deps,
    webhooks: deps.webhooks,
    jobs,
    entities: new EntityService(deps),
    runs: new RunService({
      ...deps,
      jobs,
      retentionDays: deps.retentionDays ?? runDefaults.executionRetentionDays,
    }),
  });
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(headWithoutBody())
    .use(httpBoundary(deps.logger))
    .handler(async (event) => {
      const base = toHttpRequest(event);
      const { route, params } = matchRoute(routes, base.method, base.path);
      const request: HttpRequest = { ...base, params };
      if (route.auth) await authenticate(request, deps.apiKeys);
      return route.handle(request);
    });
}

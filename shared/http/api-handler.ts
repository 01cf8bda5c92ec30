import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { JobService } from '../app/jobs.js';
import { UnauthorizedError } from '../domain/errors.js';
import { parseJobListQuery } from '../domain/job.js';
import type { ApiKeyVerifier, Clock, IdGenerator, JobStore, Logger } from '../ports.js';
import { httpBoundary } from './middlewares.js';
import { assertBodyWithinLimit, type HttpRequest, readJsonObject, toHttpRequest } from './request.js';
import { type HttpResponse, json, noContent } from './responses.js';
import { matchRoute, type Route } from './router.js';

export interface ApiDeps {
  jobs: JobStore;
  apiKeys: ApiKeyVerifier;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
}

/** The control-plane routes, in the reference's wire format. */
export function apiRoutes(service: JobService): Route[] {
  const id = (request: HttpRequest) => request.params.id as string;
  return [
    { method: 'GET', pattern: '/health', auth: false, handle: async () => json(200, { status: 'ok' }) },
    {
      method: 'GET',
      pattern: '/jobs',
      auth: true,
      handle: async (request) => {
        const page = await service.list(parseJobListQuery(request.query));
        return json(200, { jobs: page.jobs, next_cursor: page.nextCursor });
      },
    },
    {
      method: 'POST',
      pattern: '/jobs',
      auth: true,
      handle: async (request) => {
        const job = await service.create(readJsonObject(request));
        return json(201, job, { location: `/jobs/${job.id}` });
      },
    },
    {
      method: 'GET',
      pattern: '/jobs/{id}',
      auth: true,
      handle: async (request) => json(200, await service.get(id(request))),
    },
    {
      method: 'PATCH',
      pattern: '/jobs/{id}',
      auth: true,
      handle: async (request) => json(200, await service.update(id(request), readJsonObject(request))),
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
        return json(200, await service.setEnabled(id(request), true));
      },
    },
    {
      method: 'POST',
      pattern: '/jobs/{id}/disable',
      auth: true,
      handle: async (request) => {
        assertBodyWithinLimit(request);
        return json(200, await service.setEnabled(id(request), false));
      },
    },
  ];
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

async function authenticate(request: HttpRequest, apiKeys: ApiKeyVerifier): Promise<void> {
  const match = BEARER.exec(request.headers.authorization ?? '');
  if (!match || !(await apiKeys.verify(match[1] as string))) throw new UnauthorizedError();
}

/** The API Lambda's handler; the local runtime serves this very function. */
export function makeApiHandler(deps: ApiDeps) {
  const routes = apiRoutes(new JobService(deps));
  return middy<APIGatewayProxyEventV2, HttpResponse>()
    .use(httpBoundary(deps.logger))
    .handler(async (event) => {
      const base = toHttpRequest(event);
      const { route, params } = matchRoute(routes, base.method, base.path);
      const request: HttpRequest = { ...base, params };
      if (route.auth) await authenticate(request, deps.apiKeys);
      return route.handle(request);
    });
}

import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { asCaller } from '../app/request-context.js';
import { scopeAllows } from '../domain/access.js';
import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import { authenticateCaller, type CallerAuthentication } from './caller.js';
import { MethodNotAllowedError } from './errors.js';
import { type HttpRequest, toHttpRequest } from './request.js';
import type { HttpResponse } from './responses.js';
import type { RouteDefinition, RouteInput } from './route-definition.js';
import { readRouteInput } from './route-input.js';

export interface RouteMatch<R extends RouteDefinition = RouteDefinition> {
  route: R;
  params: Record<string, string>;
}

/**
 * Matches a method and path against the routes: 404 when no path fits, 405 when only the method is
 * wrong. HEAD matches the GET route of a path (the caller leaves the body out), so `Allow` lists HEAD
 * wherever it lists GET.
 */
export function matchRoute<R extends RouteDefinition>(
  routes: readonly R[],
  method: string,
  path: string,
): RouteMatch<R> {
  const segments = splitPath(path);
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPattern(route.path, segments);
    if (!params) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    allowed.push(route.method);
    if (route.method === 'GET') allowed.push('HEAD');
  }
  if (allowed.length > 0) throw new MethodNotAllowedError(method, path, allowed);
  throw new NotFoundError(`No route for ${method} ${path.slice(0, 200)}.`);
}

function splitPath(path: string): string[] | null {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  try {
    return trimmed.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return null;
  }
}

function matchPattern(pattern: string, segments: string[] | null): Record<string, string> | null {
  if (!segments) return null;
  const parts = pattern.split('/').slice(1);
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const segment = segments[index] as string;
    if (part.startsWith('{') && part.endsWith('}')) {
      if (segment === '') return null;
      params[part.slice(1, -1)] = segment;
    } else if (part !== segment) {
      return null;
    }
  }
  return params;
}

/** A handler for each route of a table, given the route's parsed inputs. */
export type RouteHandlers<T extends Record<string, RouteDefinition>> = {
  [K in keyof T]: (input: RouteInput<T[K]>) => Promise<HttpResponse>;
};

export { bearerToken } from './caller.js';

/**
 * Serves a route table with one handler per route: match (404/405), authenticate the caller of `api-key`
 * routes (401) and check the route's scope against the caller's (403), read the inputs by the route's
 * schemas, then call its handler on behalf of the caller (see request-context.ts). Routes that
 * authenticate their callers otherwise (callback token, webhook signature) leave it to their service.
 */
export function serveRoutes<T extends Record<string, RouteDefinition>>(
  table: T,
  handlers: RouteHandlers<T>,
  options: { callers?: CallerAuthentication } = {},
): (event: APIGatewayProxyEventV2) => Promise<HttpResponse> {
  const { callers } = options;
  const routes = Object.keys(table).map((name) => {
    const definition = table[name] as RouteDefinition;
    const handle = handlers[name] as
      | ((input: RouteInput<RouteDefinition>) => Promise<HttpResponse>)
      | undefined;
    if (!handle) throw new Error(`No handler for route ${name} (${definition.method} ${definition.path}).`);
    if (definition.auth === 'api-key' && !callers) {
      throw new Error(`Route ${name} needs a way to authenticate its callers.`);
    }
    return { ...definition, handle };
  });
  return async (event) => {
    const base = toHttpRequest(event);
    const { route, params } = matchRoute(routes, base.method, base.path);
    const request: HttpRequest = { ...base, params };
    if (route.auth !== 'api-key') return route.handle(readRouteInput(route, request));
    // Present: a table with an `api-key` route cannot be served without it (checked above).
    const caller = await authenticateCaller(event, request, route, callers as CallerAuthentication);
    if (!scopeAllows(caller.scope, route.scope)) throw new ForbiddenError(route.scope, caller.scope);
    return asCaller(caller, () => route.handle(readRouteInput(route, request)));
  };
}

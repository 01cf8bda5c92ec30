import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { NotFoundError, UnauthorizedError } from '../domain/errors.js';
import type { ApiKeyVerifier } from '../ports.js';
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

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The bearer token of `Authorization`, or null when there is none. */
export function bearerToken(request: Pick<HttpRequest, 'headers'>): string | null {
  return BEARER.exec(request.headers.authorization ?? '')?.[1] ?? null;
}

/**
 * Serves a route table with one handler per route: match (404/405), authenticate `api-key` routes
 * (401), read the inputs by the route's schemas, then call its handler. Routes that authenticate their
 * callers otherwise (callback token, webhook signature) leave it to their service.
 */
export function serveRoutes<T extends Record<string, RouteDefinition>>(
  table: T,
  handlers: RouteHandlers<T>,
  options: { apiKeys?: ApiKeyVerifier } = {},
): (event: APIGatewayProxyEventV2) => Promise<HttpResponse> {
  const routes = Object.keys(table).map((name) => {
    const definition = table[name] as RouteDefinition;
    const handle = handlers[name] as
      | ((input: RouteInput<RouteDefinition>) => Promise<HttpResponse>)
      | undefined;
    if (!handle) throw new Error(`No handler for route ${name} (${definition.method} ${definition.path}).`);
    if (definition.auth === 'api-key' && !options.apiKeys) {
      throw new Error(`Route ${name} needs an API key verifier.`);
    }
    return { ...definition, handle };
  });
  return async (event) => {
    const base = toHttpRequest(event);
    const { route, params } = matchRoute(routes, base.method, base.path);
    const request: HttpRequest = { ...base, params };
    if (route.auth === 'api-key') {
      const key = bearerToken(request);
      if (key === null || !(await options.apiKeys?.verify(key))) throw new UnauthorizedError();
    }
    return route.handle(readRouteInput(route, request));
  };
}

import { MethodNotAllowedError, NotFoundError } from '../domain/errors.js';
import type { HttpRequest } from './request.js';
import type { HttpResponse } from './responses.js';

export type RouteHandler = (request: HttpRequest) => Promise<HttpResponse>;

export interface Route {
  method: string;
  /** Literal segments and `{name}` parameters: `/jobs/{id}/enable`. */
  pattern: string;
  /** False only for routes that authenticate otherwise (health, webhooks, callbacks). */
  auth: boolean;
  handle: RouteHandler;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/**
 * Matches a method and path against the routes: 404 when no pattern fits, 405 when only the method is
 * wrong. HEAD matches the GET route of a path (the caller leaves the body out), so `Allow` lists HEAD
 * wherever it lists GET.
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const segments = splitPath(path);
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPattern(route.pattern, segments);
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

import { beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope, scopeAllows } from '../../shared/domain/access.js';
import { type CallerRoute, defineRoute, type RouteDefinition } from '../../shared/http/route-definition.js';
import { API_ROUTES, ROUTES } from '../../shared/http/routes/index.js';
import { accessApi } from '../support/access-api.js';

/*
 * Every route's scope, from its definition: each key scope gets a 403 exactly where the route needs more.
 * A route the table gains is walked here without a line changed, and cannot be defined without a scope
 * (see the last test, checked by the compiler).
 */

const apiRoutes: RouteDefinition[] = Object.values(API_ROUTES);
const scoped = apiRoutes.filter((route): route is CallerRoute => route.auth === 'api-key');
const concrete = (route: RouteDefinition) => route.path.replaceAll(/\{(\w+)\}/g, 'x$1');

describe('scopes, route by route', () => {
  const api = accessApi();
  const keys = {} as Record<Scope, string>;
  beforeAll(async () => {
    for (const scope of SCOPES) keys[scope] = await api.createKey(`${scope}-key`, scope);
  });

  const cases = scoped.flatMap((route) => SCOPES.map((scope) => [route.operationId, scope, route] as const));
  it.each(cases)('%s with a %s key', async (_name, scope, route) => {
    // Act
    const result = await api.as(keys[scope], { method: route.method, path: concrete(route) });

    // Assess
    expect(result.status).not.toBe(401);
    if (scopeAllows(scope, route.scope)) {
      expect(result.status).not.toBe(403);
    } else {
      expect(result.status).toBe(403);
      expect(result.json).toMatchObject({
        error: {
          code: 'insufficient_scope',
          message: `This request needs the scope "${route.scope}"; the caller has "${scope}".`,
        },
      });
      expect(result.headers['www-authenticate']).toBe(
        `Bearer error="insufficient_scope", scope="${route.scope}"`,
      );
    }
  });
});

describe('the scope rules of the table', () => {
  it('gives read only to GET routes, and trigger exactly to starting and cancelling runs', () => {
    // Act
    const reads = scoped.filter((route) => route.scope === 'read');
    const triggers = scoped.filter((route) => route.scope === 'trigger').map((route) => route.operationId);

    // Assess
    for (const route of reads) expect(route.method, route.operationId).toBe('GET');
    expect(triggers.sort()).toEqual(['cancelExecution', 'replayExecution', 'triggerJob']);
    // API keys are managed by admins only, their list included.
    expect(scoped.find((route) => route.operationId === 'listApiKeys')?.scope).toBe('admin');
  });

  it('documents a 403 on exactly the routes some key scope cannot call', () => {
    for (const route of scoped) {
      expect(route.errors[403] !== undefined, route.operationId).toBe(route.scope !== 'read');
    }
  });

  it('has no scope on routes callers do not authenticate to with their own credential', () => {
    // Act
    const others = (Object.values(ROUTES) as RouteDefinition[]).filter((route) => route.auth !== 'api-key');

    // Assess
    for (const route of others) expect(route.scope, route.operationId).toBeUndefined();
  });

  it('cannot define a route callers authenticate to without a scope', () => {
    // Act
    const unscoped = {
      operationId: 'unscoped',
      method: 'GET',
      path: '/unscoped',
      auth: 'api-key',
      tags: [],
      summary: 'x',
      description: 'x',
      response: { status: 204, description: 'x' },
      errors: { 500: true },
    } as const;

    // Assess: the compiler refuses it (npm run typecheck fails if it is accepted).
    // @ts-expect-error a route with `auth: 'api-key'` needs a `scope`
    expect(defineRoute(unscoped).operationId).toBe('unscoped');
  });
});

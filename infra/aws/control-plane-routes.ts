import type { ControlPlaneRoute } from './control-plane-api.js';

/**
 * The control-plane routes the API function serves, as the HTTP API declares them (the catch-alls `ANY /` and
 * `ANY /{proxy+}` follow them; the webhook ingress is mounted apart). GET /health comes first: the API function's
 * integration and invoke permission hang off the first route, so moving another route first renames them.
 */
export const controlPlaneRoutes: readonly ControlPlaneRoute[] = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/jobs' },
  { method: 'POST', path: '/jobs' },
  { method: 'GET', path: '/jobs/{id}' },
  { method: 'PATCH', path: '/jobs/{id}' },
  { method: 'DELETE', path: '/jobs/{id}' },
  { method: 'POST', path: '/jobs/{id}/enable' },
  { method: 'POST', path: '/jobs/{id}/disable' },
  { method: 'POST', path: '/jobs/{id}/trigger' },
  { method: 'POST', path: '/jobs/{id}/webhook-secret/rotate' },
  { method: 'GET', path: '/jobs/{id}/executions' },
  { method: 'GET', path: '/jobs/{id}/executions/{eid}' },
  { method: 'POST', path: '/jobs/{id}/executions/{eid}/cancel' },
  { method: 'POST', path: '/executions/{id}/callback' },
  { method: 'GET', path: '/entities' },
  { method: 'POST', path: '/entities' },
  { method: 'GET', path: '/entities/{id}' },
  { method: 'PATCH', path: '/entities/{id}' },
  { method: 'DELETE', path: '/entities/{id}' },
  { method: 'GET', path: '/cron/preview' },
  { method: 'GET', path: '/openapi.json' },
];

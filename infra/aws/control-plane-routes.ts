import { API_ROUTES } from '../../shared/http/routes/index.js';
import type { ControlPlaneRoute } from './control-plane-api.js';

/**
 * The control-plane routes the API function serves, as the HTTP API declares them: the route table's, in its
 * order (the catch-alls `ANY /` and `ANY /{proxy+}` follow them; the webhook ingress is mounted apart). GET
 * /health comes first: the API function's integration and invoke permission hang off the first route, so
 * moving another route first renames them. A route the app authenticates callers of (`auth: 'api-key'`)
 * is the one IAM authorization covers in a deployment whose `auth` is `iam` or `both`.
 */
export const controlPlaneRoutes: readonly ControlPlaneRoute[] = Object.values(API_ROUTES)
  .map(({ method, path, auth }) => ({ method, path, authenticatesCaller: auth === 'api-key' }))
  .sort((a, b) => Number(b.path === '/health') - Number(a.path === '/health'));

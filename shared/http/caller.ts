import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type AuthMode, type Caller, IAM_PRINCIPAL_SCOPE } from '../domain/access.js';
import { UnauthorizedError } from '../domain/errors.js';
import type { ApiKeyVerifier } from '../ports.js';
import type { HttpRequest } from './request.js';
import type { CallerRoute } from './route-definition.js';

/** How the router authenticates the callers of `api-key` routes. */
export interface CallerAuthentication {
  /** The deployment's and the stored API keys. */
  apiKeys: ApiKeyVerifier;
  /** @default 'api-key' */
  mode?: AuthMode;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The bearer token of `Authorization`, or null when there is none. */
export function bearerToken(request: Pick<HttpRequest, 'headers'>): string | null {
  return BEARER.exec(request.headers.authorization ?? '')?.[1] ?? null;
}

/** The IAM identity API Gateway put in the request context, when its IAM authorization ran. */
function iamIdentity(event: APIGatewayProxyEventV2): { userArn: string } | undefined {
  const context = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } };
  const userArn = context.authorizer?.iam?.userArn;
  return typeof userArn === 'string' && userArn !== '' ? { userArn } : undefined;
}

/**
 * Who is calling `route`: an IAM principal, when the deployment takes them and API Gateway authorized
 * this very route (its `routeKey` is the route the app matched: a request that reached the function by a
 * catch-all route, or by a path API Gateway matched to another route, was not authorized for this one);
 * otherwise an API key, when the deployment takes them. Anything else is a 401.
 */
export async function authenticateCaller(
  event: APIGatewayProxyEventV2,
  request: HttpRequest,
  route: CallerRoute,
  { apiKeys, mode = 'api-key' }: CallerAuthentication,
): Promise<Caller> {
  if (mode !== 'api-key') {
    const identity = iamIdentity(event);
    const routeKey = `${route.method} ${route.path}`;
    if (identity && event.requestContext.routeKey === routeKey) {
      return { type: 'iam', arn: identity.userArn, scope: IAM_PRINCIPAL_SCOPE };
    }
  }
  if (mode === 'iam') {
    throw new UnauthorizedError(
      'This deployment takes requests signed with AWS Signature Version 4 (IAM) only.',
    );
  }
  const key = bearerToken(request);
  const match = key === null ? null : await apiKeys.verify(key);
  if (!match) throw new UnauthorizedError();
  return { type: 'api_key', name: match.name, scope: match.scope };
}

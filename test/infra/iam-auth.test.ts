import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import type { RouteDefinition } from '../../shared/http/route-definition.js';
import { API_ROUTES } from '../../shared/http/routes/index.js';
import { acknowledgedOn, buildApp, logicalIdOf, removeOutdirs, resourcesOf, variablesOf } from './support.js';

afterAll(removeOutdirs);

const routes: RouteDefinition[] = Object.values(API_ROUTES);
/** The route keys of the routes the app authenticates callers of: what IAM authorization must cover. */
const callerRouteKeys = routes
  .filter((route) => route.auth === 'api-key')
  .map((route) => `${route.method} ${route.path}`)
  .sort();

/** Each route of the HTTP API `apiId` (a logical id), by route key: its authorization type. */
function authorizationByRoute(template: Template, apiId: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const route of Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'))) {
    const properties = route.Properties as {
      ApiId: { Ref: string };
      RouteKey: string;
      AuthorizationType?: string;
    };
    if (properties.ApiId.Ref !== apiId) continue;
    result.set(properties.RouteKey, properties.AuthorizationType ?? 'NONE');
  }
  return result;
}

const iamRoutes = (authorization: Map<string, string>) =>
  [...authorization]
    .filter(([, type]) => type === 'AWS_IAM')
    .map(([key]) => key)
    .sort();

describe('auth: "iam"', () => {
  const { stack } = buildApp('dev', { auth: 'iam' });
  const template = Template.fromStack(stack);
  const apiId = logicalIdOf(stack, stack.controlPlane.httpApi);
  const authorization = authorizationByRoute(template, apiId);

  it('puts IAM authorization on exactly the control-plane routes that authenticate their callers', () => {
    // Assess
    expect(iamRoutes(authorization)).toEqual(callerRouteKeys);
    // Webhook deliveries stay HMAC-signed, the callback keeps its token, health and the document stay open.
    for (const key of [
      'POST /webhooks/{path}',
      'POST /executions/{id}/callback',
      'GET /health',
      'GET /openapi.json',
    ]) {
      expect(authorization.get(key), key).toBe('NONE');
    }
    expect(authorization.get('ANY /{proxy+}')).toBe('NONE');
    expect(stack.controlPlane.iamApi).toBeUndefined();
  });

  it('tells the API function to trust IAM principals only, and acknowledges APIG4 only where the function authorizes', () => {
    // Prepare
    const functionId = logicalIdOf(stack, stack.controlPlane.apiFunction);
    const routeIds = Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));

    // Act
    const acknowledged = routeIds
      .filter(([id]) => acknowledgedOn(template, id).some((finding) => finding.id === 'AwsSolutions-APIG4'))
      .map(([, route]) => String(route.Properties?.RouteKey));

    // Assess
    expect(variablesOf(template, functionId).AUTH_MODE).toBe('iam');
    expect(acknowledged.filter((key) => callerRouteKeys.includes(key))).toEqual([]);
    expect(acknowledged).toContain('POST /executions/{id}/callback');
  });
});

describe('auth: "both"', () => {
  const { stack } = buildApp('dev', { auth: 'both' });
  const template = Template.fromStack(stack);
  const keyApi = authorizationByRoute(template, logicalIdOf(stack, stack.controlPlane.httpApi));
  const iamApi = authorizationByRoute(template, logicalIdOf(stack, stack.controlPlane.iamApi as never));

  it('keeps the first API on API keys and serves the caller routes with IAM authorization on a second API', () => {
    // Assess
    expect(iamRoutes(keyApi)).toEqual([]);
    expect(iamRoutes(iamApi)).toEqual(callerRouteKeys);
    // Deliveries go to the first API only; the second has nothing but the API function's routes.
    expect(iamApi.has('POST /webhooks/{path}')).toBe(false);
    expect(iamApi.get('ANY /{proxy+}')).toBe('NONE');
    template.hasOutput('IamApiUrl', {});
  });

  it('lets the second API invoke the API function, throttled and logged like the first', () => {
    // Prepare
    const functionId = logicalIdOf(stack, stack.controlPlane.apiFunction);
    const stages = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Stage')).map(
      (stage) => stage.Properties as Record<string, unknown>,
    );
    const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission')).filter((permission) =>
      JSON.stringify(permission.Properties?.FunctionName).includes(functionId),
    );

    // Assess
    expect(variablesOf(template, functionId).AUTH_MODE).toBe('both');
    expect(stages).toHaveLength(2);
    expect(stages[0]?.DefaultRouteSettings).toEqual(stages[1]?.DefaultRouteSettings);
    expect(stages[0]?.AccessLogSettings).toEqual(stages[1]?.AccessLogSettings);
    expect(permissions).toHaveLength(2);
  });
});

describe('auth by default', () => {
  it('is api-key: no IAM authorization anywhere', () => {
    // Prepare
    const { stack } = buildApp('dev');
    const template = Template.fromStack(stack);

    // Act
    const types = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties?.AuthorizationType ?? 'NONE',
    );

    // Assess
    expect(new Set(types)).toEqual(new Set(['NONE']));
    expect(variablesOf(template, logicalIdOf(stack, stack.controlPlane.apiFunction)).AUTH_MODE).toBe(
      'api-key',
    );
  });

  it('refuses an unknown auth mode', () => {
    // Act
    const build = () => buildApp('dev', { auth: 'kerberos' as never });

    // Assess
    expect(build).toThrow(/auth "kerberos" must be one of: api-key, iam, both/);
  });
});

import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../../infra/aws/console-site.js';
import { runtimeVariables } from '../../shared/config/environment.js';
import {
  buildApp,
  logicalIdOf,
  propertiesOf,
  removeOutdirs,
  resourcesOf,
  roleIdOf,
  statementsOf,
} from './support.js';

afterAll(removeOutdirs);

describe('ConsoleSite in the dev deployment', () => {
  const { stack } = buildApp('dev');
  const template = Template.fromStack(stack);
  const functionId = logicalIdOf(stack, stack.consoleSite.consoleFunction);
  const integrationIds = Object.keys(resourcesOf(template, 'AWS::ApiGatewayV2::Integration')).filter((id) =>
    id.includes('ConsoleIntegration'),
  );

  it('serves GET and HEAD of /console and its files from its own function, through one integration', () => {
    // Act
    const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).filter((route) =>
      String(route.Properties?.RouteKey).includes(' /console'),
    );

    // Assess
    expect(integrationIds).toHaveLength(1);
    expect(
      propertiesOf(template, 'AWS::ApiGatewayV2::Integration', integrationIds[0] as string),
    ).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
    expect(routes.map((route) => route.Properties?.RouteKey).sort()).toEqual(
      consoleRoutes.map(({ method, path }) => `${method} ${path}`).sort(),
    );
    for (const route of routes) {
      expect(route.Properties).toMatchObject({
        AuthorizationType: 'NONE',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationIds[0] }]] },
      });
    }
  });

  it('has no permission beyond writing its logs, and no environment but Node’s source maps', () => {
    // Prepare
    const properties = propertiesOf(template, 'AWS::Lambda::Function', functionId);
    const policies = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties?.Roles).includes(roleIdOf(template, functionId)),
    );

    // Assess
    expect(properties.Environment).toEqual({
      Variables: { [runtimeVariables.nodeOptions]: '--enable-source-maps' },
    });
    expect(properties.MemorySize).toBe(128);
    const actions = policies
      .flatMap((policy) => statementsOf(policy.Properties?.PolicyDocument))
      .flatMap((statement) => [statement.Action].flat());
    expect(actions.every((action) => String(action).startsWith('logs:'))).toBe(true);
  });
});

import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeploymentSettings,
  getDeploymentSettings,
  resolveDeploymentSettings,
} from '../../infra/aws/config.js';
import { WebhookIngress, webhookRoute } from '../../infra/aws/webhook-ingress.js';
import { awsDefaults } from '../../shared/config/defaults.js';
import {
  allPolicyDocuments,
  asArray,
  buildApp,
  type CfnResource,
  constructFixture,
  integrationIdOf,
  isWildcardStatement,
  listSchedulesStatement,
  logGroupIdOf,
  logicalIdOf,
  onlyLogicalId,
  propertiesOf,
  removeOutdirs,
  renderCfnString,
  resourcesOf,
  resourcesReachedBy,
  roleIdOf,
  roleStatements,
  statementsOf,
  variablesOf,
  workerFunctionsOf,
} from './support.js';

afterAll(removeOutdirs);

const webhookRouteKey = 'POST /webhooks/{path}';
const queueNames = ['default', 'production', 'security'];

/** The ids a test needs to read the webhook ingress of one app. */
function inspect(env: string, overrides?: Partial<DeploymentSettings>) {
  const built = buildApp(env, overrides);
  const { stack } = built;
  const template = Template.fromStack(stack);
  const webhookId = logicalIdOf(stack, stack.webhookIngress.webhookFunction);
  const apiFunctionId = logicalIdOf(stack, stack.controlPlane.apiFunction);
  const tableId = logicalIdOf(stack, stack.table);
  const keyId = logicalIdOf(stack, stack.secretsKey);
  const httpApiId = logicalIdOf(stack, stack.controlPlane.httpApi);
  const queueIds = new Map(
    [...stack.workerQueues].map(([name, { queue }]) => [name, logicalIdOf(stack, queue)] as const),
  );
  const stageId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Stage');
  const routes = resourcesOf(template, 'AWS::ApiGatewayV2::Route');

  /** Names the resources of a function's policies, with the actions allowed on each. */
  const reachedBy = (functionId: string) => resourcesReachedBy(stack, template, functionId);

  /** Logical ids of the routes whose target is the integration `integrationId`. */
  const routesOf = (integrationId: string): string[] =>
    Object.entries(routes)
      .filter(
        ([, route]) =>
          JSON.stringify(route.Properties?.Target) ===
          JSON.stringify({ 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] }),
      )
      .map(([id]) => id);

  return {
    ...built,
    template,
    webhookId,
    apiFunctionId,
    tableId,
    keyId,
    httpApiId,
    queueIds,
    stageId,
    routes,
    reachedBy,
    routesOf,
  };
}

describe('webhook function', () => {
  const { settings, template, webhookId, tableId, keyId, queueIds } = inspect('dev');

  it('runs Node.js 22 on arm64 with 256 MB, a 10 s timeout and its own log group', () => {
    // Prepare
    const fn = propertiesOf(template, 'AWS::Lambda::Function', webhookId);

    // Assess
    expect(fn).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 10,
    });
    expect(
      propertiesOf(template, 'AWS::Logs::LogGroup', logGroupIdOf(template, webhookId)).RetentionInDays,
    ).toBe(settings.logRetention);
  });

  it('gets exactly the table, key, queues, deployment config, retention and log level (no API key secret)', () => {
    // Act
    const variables = variablesOf(template, webhookId);

    // Assess
    expect(Object.keys(variables).sort()).toEqual(
      [
        'TABLE_NAME',
        'KMS_KEY_ID',
        'QUEUE_URLS',
        'DEPLOYMENT_CONFIG',
        'EXECUTION_RETENTION_DAYS',
        'RUN_EVENTS',
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'POWERTOOLS_SERVICE_NAME',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_TRACE_ENABLED',
      ].sort(),
    );
    expect(variables).toEqual({
      TABLE_NAME: { Ref: tableId },
      KMS_KEY_ID: { 'Fn::GetAtt': [keyId, 'Arn'] },
      QUEUE_URLS: expect.anything(),
      DEPLOYMENT_CONFIG: expect.any(String),
      EXECUTION_RETENTION_DAYS: String(settings.executionRetentionDays),
      RUN_EVENTS: settings.runEvents,
      LOG_LEVEL: settings.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'serverless-jobs',
      POWERTOOLS_METRICS_NAMESPACE: 'ServerlessJobs',
      POWERTOOLS_TRACE_ENABLED: 'false',
    });
    expect(JSON.parse(renderCfnString(variables.QUEUE_URLS))).toEqual(
      Object.fromEntries(queueNames.map((queue) => [queue, `<${queueIds.get(queue)}>`])),
    );
    expect(JSON.parse(variables.DEPLOYMENT_CONFIG as string)).toEqual({
      defaultQueue: 'default',
      queues: settings.queues,
      environments: settings.environments,
      allowedTargetNetworks: [],
      notificationTopicArns: [],
      eventBusName: 'default',
      awsTargets: { stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] },
    });
  });
});

describe('webhook function IAM', () => {
  const { stack, template, webhookId, apiFunctionId, tableId, keyId, queueIds, reachedBy } = inspect('dev');
  const roleId = roleIdOf(template, webhookId);

  it('has a role with no managed policy and no inline policy of its own', () => {
    // Prepare
    const role = propertiesOf(template, 'AWS::IAM::Role', roleId);

    // Assess
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
  });

  it('reaches exactly the table (item calls), the key (decrypt), the worker queues (send) and its log group', () => {
    // Act
    const reached = reachedBy(webhookId);

    // Assess
    expect(new Set(reached.keys())).toEqual(
      new Set(['table', 'key', 'log group', ...queueNames.map((queue) => `queue ${queue}`)]),
    );
    expect(reached.get('table')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(reached.get('key')).toEqual(['kms:Decrypt']);
    expect(reached.get('log group')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    for (const queue of queueNames) expect(reached.get(`queue ${queue}`), queue).toEqual(['sqs:SendMessage']);
  });

  it('has exactly these statements: no Query, no index, no Secrets Manager, no SQS read', () => {
    // Prepare
    const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };

    // Assess
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: Match.exact({
        Version: '2012-10-17',
        Statement: [
          {
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [logGroupIdOf(template, webhookId), 'Arn'] },
          },
          {
            Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
            Effect: 'Allow',
            Resource: tableArn,
          },
          { Action: 'kms:Decrypt', Effect: 'Allow', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
          {
            Action: 'sqs:SendMessage',
            Effect: 'Allow',
            Resource: queueNames.map((queue) => ({ 'Fn::GetAtt': [queueIds.get(queue), 'Arn'] })),
          },
        ],
      }),
    });
    expect(roleStatements(template, roleId)).toHaveLength(4);
  });

  it('is granted nothing by a resource policy (key, queues, secret)', () => {
    // Prepare
    const resourcePolicies = [
      ...Object.values(resourcesOf(template, 'AWS::KMS::Key')).map((key) => key.Properties?.KeyPolicy),
      ...Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy')).map(
        (policy) => policy.Properties?.PolicyDocument,
      ),
      ...Object.values(resourcesOf(template, 'AWS::SecretsManager::ResourcePolicy')).map(
        (policy) => policy.Properties?.ResourcePolicy,
      ),
    ];

    // Assess
    for (const document of resourcePolicies) expect(JSON.stringify(document)).not.toContain(roleId);
  });

  it('may do nothing the API function may not, and strictly less', () => {
    // Prepare
    const pairs = (functionId: string) =>
      new Set(
        [...reachedBy(functionId)]
          .filter(([resource]) => resource !== 'log group')
          .flatMap(([resource, actions]) => actions.map((action) => `${resource} ${action}`)),
      );

    // Act
    const webhook = pairs(webhookId);
    const api = pairs(apiFunctionId);

    // Assess
    for (const pair of webhook) expect(api.has(pair), pair).toBe(true);
    expect(webhook.size).toBeLessThan(api.size);
  });

  it('holds the fewest permissions of all functions', () => {
    // Prepare
    const functions = [
      stack.controlPlane.apiFunction,
      ...workerFunctionsOf(stack).values(),
      stack.sweeper.sweeperFunction,
      stack.cronScheduling.dispatchFunction,
      stack.webhookIngress.webhookFunction,
    ];
    const countOf = (functionId: string) =>
      [...reachedBy(functionId).values()].reduce((total, actions) => total + actions.length, 0);

    // Act
    const counts = functions.map((fn) => countOf(logicalIdOf(stack, fn)));

    // Assess
    const webhookCount = countOf(webhookId);
    expect(webhookCount).toBe(2 + 4 + 1 + queueNames.length);
    expect(counts.filter((count) => count <= webhookCount)).toEqual([webhookCount]);
  });

  it('cannot query, like dispatch (which starts runs too) and unlike every other function', () => {
    // Prepare
    const others = [
      stack.controlPlane.apiFunction,
      ...workerFunctionsOf(stack).values(),
      stack.sweeper.sweeperFunction,
    ];

    // Act
    const webhookActions = [...reachedBy(webhookId).values()].flat();
    const dispatchActions = [
      ...reachedBy(logicalIdOf(stack, stack.cronScheduling.dispatchFunction)).values(),
    ].flat();

    // Assess
    expect(webhookActions).not.toContain('dynamodb:Query');
    expect(dispatchActions).not.toContain('dynamodb:Query');
    for (const fn of others) {
      expect([...reachedBy(logicalIdOf(stack, fn)).values()].flat()).toContain('dynamodb:Query');
    }
  });

  it('keeps every policy of the stack free of wildcard actions, and of "*" resources but ListSchedules', () => {
    // Act
    const statements = allPolicyDocuments(template).flatMap(statementsOf);

    // Assess: the sweeper's ListSchedules, which supports no resource-level permission, is the only one.
    expect(statements.filter(isWildcardStatement)).toEqual([listSchedulesStatement]);
    for (const statement of statements) {
      for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
    }
  });
});

describe('webhook route', () => {
  const { stack, template, webhookId, apiFunctionId, httpApiId, stageId, routes, routesOf } = inspect('dev');
  const webhookIntegrationId = integrationIdOf(template, webhookId);
  const apiIntegrationId = integrationIdOf(template, apiFunctionId);
  const webhookRouteId = logicalIdOf(stack, stack.webhookIngress.route);

  it('is POST /webhooks/{path}, exactly once', () => {
    // Prepare
    const keys = Object.values(routes).map((route) => route.Properties?.RouteKey as string);

    // Assess
    expect(`${webhookRoute.method} ${webhookRoute.path}`).toBe(webhookRouteKey);
    expect(keys.filter((key) => key === webhookRouteKey)).toHaveLength(1);
    // No other route under /webhooks: everything else there falls to the catch-all (the app's JSON 404/405).
    expect(keys.filter((key) => key.includes('/webhooks'))).toEqual([webhookRouteKey]);
    expect(propertiesOf(template, 'AWS::ApiGatewayV2::Route', webhookRouteId).RouteKey).toBe(webhookRouteKey);
  });

  it("targets the webhook function's own integration (AWS_PROXY, payload 2.0), and only it does", () => {
    // Assess
    expect(propertiesOf(template, 'AWS::ApiGatewayV2::Integration', webhookIntegrationId)).toEqual({
      ApiId: { Ref: httpApiId },
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [webhookId, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
    expect(routesOf(webhookIntegrationId)).toEqual([webhookRouteId]);
    // The console's files have an integration of their own (test/infra/console-site.test.ts).
    expect(
      Object.keys(resourcesOf(template, 'AWS::ApiGatewayV2::Integration'))
        .filter((id) => !id.includes('ConsoleIntegration'))
        .sort(),
    ).toEqual([apiIntegrationId, webhookIntegrationId].sort());
  });

  it('is not served by the API function, which serves every other route but the console’s', () => {
    // Act
    const apiRoutes = routesOf(apiIntegrationId);

    // Assess
    expect(apiRoutes).not.toContain(webhookRouteId);
    expect(apiRoutes.sort()).toEqual(
      Object.keys(routes)
        .filter(
          (id) => id !== webhookRouteId && !String(routes[id]?.Properties?.RouteKey).includes(' /console'),
        )
        .sort(),
    );
    // The API keeps its catch-alls; API Gateway prefers the more specific webhook route over ANY /{proxy+}.
    expect(apiRoutes.map((id) => routes[id]?.Properties?.RouteKey)).toEqual(
      expect.arrayContaining(['ANY /', 'ANY /{proxy+}', 'POST /jobs/{id}/webhook-secret/rotate']),
    );
  });

  it('has no API Gateway authorizer: the function checks the signature (and the API function the API key)', () => {
    // Assess
    expect(propertiesOf(template, 'AWS::ApiGatewayV2::Route', webhookRouteId)).toEqual({
      ApiId: { Ref: httpApiId },
      AuthorizationType: 'NONE',
      RouteKey: webhookRouteKey,
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: webhookIntegrationId }]] },
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it('lets API Gateway invoke the webhook function from this route of this API only', () => {
    // Prepare
    const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission')).filter(
      (permission) =>
        JSON.stringify(permission.Properties?.FunctionName) ===
        JSON.stringify({ 'Fn::GetAtt': [webhookId, 'Arn'] }),
    );

    // Assess
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
    });
    expect(renderCfnString(permissions[0]?.Properties?.SourceArn)).toBe(
      `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${httpApiId}>/*/*/webhooks/{path}`,
    );
  });

  it('is not wired to anything else: no event source, schedule or other invoker of the webhook function', () => {
    // Prepare
    const mentions = (type: string) =>
      Object.values(resourcesOf(template, type)).filter((resource) =>
        JSON.stringify(resource.Properties).includes(webhookId),
      );

    // Assess
    expect(mentions('AWS::Lambda::EventSourceMapping')).toEqual([]);
    expect(mentions('AWS::Events::Rule')).toEqual([]);
    expect(mentions('AWS::ApiGatewayV2::Route')).toEqual([]);
    expect(mentions('AWS::ApiGatewayV2::Integration')).toHaveLength(1);
  });

  it('is created before the stage whose route settings name it', () => {
    // Prepare
    const stage = resourcesOf(template, 'AWS::ApiGatewayV2::Stage')[stageId] as CfnResource & {
      DependsOn?: string[];
    };

    // Assess: API Gateway rejects route settings for a route that does not exist yet.
    expect(stage.DependsOn).toEqual(expect.arrayContaining([webhookRouteId]));
  });
});

describe('webhook throttling', () => {
  it('defaults to 100 requests per second with a burst of 200', () => {
    // Act
    const resolved = resolveDeploymentSettings(getDeploymentSettings('dev'));

    // Assess
    expect(awsDefaults).toMatchObject({
      webhookThrottleRateLimit: 100,
      webhookThrottleBurstLimit: 200,
    });
    expect(resolved).toMatchObject({ webhookThrottleRateLimit: 100, webhookThrottleBurstLimit: 200 });
  });

  it.each(['dev', 'prod'])(
    '%s: sets a route-level throttle on POST /webhooks/{path} and keeps the stage-wide one',
    (env) => {
      // Prepare
      const { settings, template, stageId } = inspect(env);

      // Act
      const stage = propertiesOf(template, 'AWS::ApiGatewayV2::Stage', stageId);

      // Assess
      expect(stage.RouteSettings).toEqual({
        [webhookRouteKey]: {
          ThrottlingRateLimit: settings.webhookThrottleRateLimit,
          ThrottlingBurstLimit: settings.webhookThrottleBurstLimit,
        },
      });
      expect(settings).toMatchObject({ webhookThrottleRateLimit: 100, webhookThrottleBurstLimit: 200 });
      expect(stage.DefaultRouteSettings).toEqual({
        ThrottlingRateLimit: settings.apiThrottleRateLimit,
        ThrottlingBurstLimit: settings.apiThrottleBurstLimit,
      });
    },
  );

  it('follows the configured limits', () => {
    // Prepare
    const { template, stageId } = inspect('dev', {
      webhookThrottleRateLimit: 7.5,
      webhookThrottleBurstLimit: 15,
    });

    // Act
    const stage = propertiesOf(template, 'AWS::ApiGatewayV2::Stage', stageId);

    // Assess
    expect(stage.RouteSettings).toEqual({
      [webhookRouteKey]: { ThrottlingRateLimit: 7.5, ThrottlingBurstLimit: 15 },
    });
  });

  it.each([
    [
      { webhookThrottleRateLimit: 0 },
      'webhookThrottleRateLimit must be a number above 0 and at most 10000, got 0',
    ],
    [{ webhookThrottleRateLimit: Number.NaN }, 'webhookThrottleRateLimit must be a number above 0'],
    [{ webhookThrottleRateLimit: 10_001 }, 'at most 10000, got 10001'],
    [{ webhookThrottleBurstLimit: 0 }, 'webhookThrottleBurstLimit must be an integer from 1 to 5000, got 0'],
    [{ webhookThrottleBurstLimit: 2.5 }, 'webhookThrottleBurstLimit must be an integer'],
  ] satisfies [Partial<DeploymentSettings>, string][])('rejects %j', (overrides, message) => {
    // Act
    const build = () => buildApp('dev', overrides);

    // Assess
    expect(build).toThrow('Invalid config of deployment "dev"');
    expect(build).toThrow(message);
  });
});

describe('webhook ingress and cdk-nag', () => {
  const { stack, template, webhookId } = inspect('dev');

  /** The rules acknowledged on the resource `logicalId` (empty when none). */
  const rulesOn = (logicalId: string): { id: string; reason: string }[] => {
    const resource = (template.toJSON().Resources as Record<string, CfnResource>)[logicalId];
    const nag = resource?.Metadata?.cdk_nag as
      | { rules_to_suppress: { id: string; reason: string }[] }
      | undefined;
    return nag?.rules_to_suppress ?? [];
  };
  const acknowledgedOn = (logicalId: string): string[] => rulesOn(logicalId).map((rule) => rule.id);

  it('acknowledges APIG4 on the webhook route only, giving the HMAC signature check as the reason', () => {
    // Prepare
    const routeId = logicalIdOf(stack, stack.webhookIngress.route);
    const [rule] = rulesOn(routeId);

    // Assess
    expect(acknowledgedOn(routeId)).toEqual(['AwsSolutions-APIG4']);
    expect(rule?.reason).toMatch(/HMAC-SHA256 signature over the raw body/);
    expect(rule?.reason).toMatch(/401/);
  });

  it('acknowledges only the pinned runtime on the function and nothing on its role or policy', () => {
    // Prepare
    const roleId = roleIdOf(template, webhookId);
    const policyIds = Object.entries(resourcesOf(template, 'AWS::IAM::Policy'))
      .filter(([, policy]) => JSON.stringify(policy.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
      .map(([id]) => id);

    // Assess: no wildcard resource, so no IAM5 to acknowledge (unlike the functions that query the indexes).
    expect(acknowledgedOn(webhookId)).toEqual(['AwsSolutions-L1']);
    expect(acknowledgedOn(roleId)).toEqual([]);
    expect(policyIds).toHaveLength(1);
    expect(acknowledgedOn(policyIds[0] as string)).toEqual([]);
  });

  it.each(['dev', 'prod'])('%s: leaves no unacknowledged finding', (env) => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(buildApp(env).app);

    // Assess
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('WebhookIngress in a stack of its own', () => {
  it('mounts POST /webhooks/{path} on the API with the default throttle, served by its own function', () => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();
    const api = fixture.addControlPlane();

    // Act
    const ingress = new WebhookIngress(fixture.stack, 'WebhookIngress', { ...fixture, api });
    const template = Template.fromStack(fixture.stack);

    // Assess
    const functionId = logicalIdOf(fixture.stack, ingress.webhookFunction);
    expect(
      propertiesOf(template, 'AWS::ApiGatewayV2::Route', logicalIdOf(fixture.stack, ingress.route)),
    ).toMatchObject({
      RouteKey: webhookRouteKey,
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationIdOf(template, functionId) }]] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: {
        [webhookRouteKey]: {
          ThrottlingRateLimit: awsDefaults.webhookThrottleRateLimit,
          ThrottlingBurstLimit: awsDefaults.webhookThrottleBurstLimit,
        },
      },
    });
    expect(propertiesOf(template, 'AWS::Lambda::Function', functionId)).toMatchObject({
      MemorySize: 256,
      Timeout: 10,
    });
  });

  it.each([
    [{ throttle: { rateLimit: -1, burstLimit: 10 } }, 'throttle.rateLimit must be a number above 0'],
    [
      { throttle: { rateLimit: 10, burstLimit: 5001 } },
      'throttle.burstLimit must be an integer from 1 to 5000',
    ],
    [
      { executionRetentionDays: 0 },
      'WebhookIngress: executionRetentionDays must be an integer from 1 to 3650',
    ],
  ] as [Record<string, unknown>, string][])('throws for bad props: %j', (overrides, message) => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();
    const api = fixture.addControlPlane();

    // Act
    const build = () =>
      new WebhookIngress(fixture.stack, 'WebhookIngress', { ...fixture, api, ...overrides });

    // Assess
    expect(build).toThrow(message);
  });
});

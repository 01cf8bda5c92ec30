import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlPlaneApi } from '../../infra/aws/control-plane-api.js';
import { controlPlaneRoutes } from '../../infra/aws/control-plane-routes.js';
import {
  buildApp,
  constructFixture,
  hasTableStatements,
  integrationIdOf,
  logGroupIdOf,
  logicalIdOf,
  onlyLogicalId,
  propertiesOf,
  removeOutdirs,
  renderCfnString,
  resourcesOf,
  resourcesReachedBy,
  roleIdOf,
  schedulesArnOf,
  variablesOf,
} from './support.js';

afterAll(removeOutdirs);

describe('ControlPlaneApi in the dev deployment', () => {
  const { stack, settings } = buildApp('dev');
  const template = Template.fromStack(stack);
  const tableId = onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable');
  const secretId = onlyLogicalId(template, 'AWS::SecretsManager::Secret');
  const functionId = logicalIdOf(stack, stack.controlPlane.apiFunction);
  const keyId = logicalIdOf(stack, stack.secretsKey);
  const queueIds = new Map(
    [...stack.workerQueues].map(([name, { queue }]) => [name, logicalIdOf(stack, queue)] as const),
  );

  describe('HTTP API', () => {
    it('routes every control-plane route, plus catch-alls for / and the rest, to the API function with payload 2.0', () => {
      // Prepare
      const integrationId = integrationIdOf(template, functionId);
      // The webhook ingress and the console are mounted by their own constructs and served by their functions.
      const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).filter(
        (route) =>
          route.Properties?.RouteKey !== 'POST /webhooks/{path}' &&
          !String(route.Properties?.RouteKey).includes(' /console'),
      );

      // Act
      const routeKeys = routes.map((route) => route.Properties?.RouteKey).sort();

      // Assess: every route but the webhook ingress (test/infra/webhook-ingress.test.ts), which the API does not serve.
      expect(routeKeys).toEqual(
        [
          'GET /health',
          'GET /jobs',
          'POST /jobs',
          'GET /jobs/{id}',
          'PATCH /jobs/{id}',
          'DELETE /jobs/{id}',
          'POST /jobs/{id}/enable',
          'POST /jobs/{id}/disable',
          'POST /jobs/{id}/trigger',
          'POST /jobs/{id}/webhook-secret/rotate',
          'GET /jobs/{id}/executions',
          'GET /jobs/{id}/executions/{eid}',
          'POST /jobs/{id}/executions/{eid}/cancel',
          'POST /jobs/{id}/executions/{eid}/replay',
          'GET /executions',
          'POST /executions/{id}/callback',
          'GET /cron/preview',
          'GET /openapi.json',
          'GET /entities',
          'POST /entities',
          'GET /entities/{id}',
          'PATCH /entities/{id}',
          'DELETE /entities/{id}',
          'GET /notification-channels',
          'POST /notification-channels',
          'GET /notification-channels/{id}',
          'PATCH /notification-channels/{id}',
          'DELETE /notification-channels/{id}',
          'POST /notification-channels/{id}/test',
          'GET /jobs/{id}/history',
          'GET /api-keys',
          'POST /api-keys',
          'DELETE /api-keys/{name}',
          'ANY /',
          'ANY /{proxy+}',
        ].sort(),
      );
      for (const route of routes) {
        expect(route.Properties?.Target).toEqual({
          'Fn::Join': ['', ['integrations/', { Ref: integrationId }]],
        });
      }
      // `/{proxy+}` needs a segment: without its own route, `/` would get API Gateway's 404, not the app's.
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'ANY /',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
        PayloadFormatVersion: '2.0',
      });
    });

    it('serves the $default stage, throttled and access-logged to a log group with retention', () => {
      // Prepare
      const stage = propertiesOf(
        template,
        'AWS::ApiGatewayV2::Stage',
        onlyLogicalId(template, 'AWS::ApiGatewayV2::Stage'),
      );

      // Act
      const accessLogs = stage.AccessLogSettings as {
        DestinationArn: { 'Fn::GetAtt': [string] };
        Format: string;
      };
      const [logGroupId] = accessLogs.DestinationArn['Fn::GetAtt'];

      // Assess
      expect(stage).toMatchObject({
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: {
          ThrottlingRateLimit: settings.apiThrottleRateLimit,
          ThrottlingBurstLimit: settings.apiThrottleBurstLimit,
        },
      });
      expect(JSON.parse(accessLogs.Format)).toMatchObject({
        requestId: '$context.requestId',
        status: '$context.status',
      });
      expect(propertiesOf(template, 'AWS::Logs::LogGroup', logGroupId).RetentionInDays).toBe(
        settings.logRetention,
      );
    });

    it('lets API Gateway invoke the function from this API only', () => {
      // Prepare
      const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission')).filter(
        (permission) =>
          permission.Properties?.Principal === 'apigateway.amazonaws.com' &&
          JSON.stringify(permission.Properties?.FunctionName) ===
            JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
      );

      // Assess
      expect(permissions).toHaveLength(1);
      expect(permissions[0]?.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
      // One permission for the whole API (every route but the webhook ingress targets this function).
      expect(renderCfnString(permissions[0]?.Properties?.SourceArn)).toBe(
        `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalIdOf(stack, stack.controlPlane.httpApi)}>/*/*/*`,
      );
    });

    it('outputs the API URL, the API key secret name and the alarm topic ARN', () => {
      // Assess
      template.hasOutput('ApiUrl', { Value: Match.anyValue() });
      template.hasOutput('ApiKeySecretName', { Value: Match.anyValue() });
      template.hasOutput('AlarmTopicArn', {
        Value: { Ref: onlyLogicalId(template, 'AWS::SNS::Topic') },
      });
    });
  });

  describe('API function', () => {
    it('runs Node.js 22 on arm64 with the app environment and its own log group', () => {
      // Prepare
      const fn = propertiesOf(template, 'AWS::Lambda::Function', functionId);
      const logGroupId = logGroupIdOf(template, functionId);

      // Assess
      expect(fn).toMatchObject({
        Architectures: ['arm64'],
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        MemorySize: 512,
        Timeout: 10,
      });
      expect(propertiesOf(template, 'AWS::Logs::LogGroup', logGroupId).RetentionInDays).toBe(
        settings.logRetention,
      );
    });

    it('gets the table, API keys, queues, key, deployment config, retention and scheduling, but no PUBLIC_BASE_URL', () => {
      // Act
      const variables = variablesOf(template, functionId);

      // Assess: the API's own URL would be a circular reference; it reads the request's domain instead.
      expect(Object.keys(variables).sort()).toEqual(
        [
          'TABLE_NAME',
          'API_KEY_SECRET_ARN',
          'AUTH_MODE',
          'QUEUE_URLS',
          'KMS_KEY_ID',
          'DEPLOYMENT_CONFIG',
          'EXECUTION_RETENTION_DAYS',
          'RUN_EVENTS',
          'LOG_LEVEL',
          'NODE_OPTIONS',
          'POWERTOOLS_SERVICE_NAME',
          'POWERTOOLS_METRICS_NAMESPACE',
          'POWERTOOLS_TRACE_ENABLED',
          'SCHEDULE_GROUP_NAME',
          'DISPATCH_FUNCTION_ARN',
          'SCHEDULER_ROLE_ARN',
          'SCHEDULER_DLQ_ARN',
        ].sort(),
      );
      expect(variables).toMatchObject({
        TABLE_NAME: { Ref: tableId },
        API_KEY_SECRET_ARN: { Ref: secretId },
        AUTH_MODE: 'api-key',
        KMS_KEY_ID: { 'Fn::GetAtt': [keyId, 'Arn'] },
        EXECUTION_RETENTION_DAYS: String(settings.executionRetentionDays),
        LOG_LEVEL: settings.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        // The scheduling variables are checked in test/infra/schedules.test.ts.
        SCHEDULE_GROUP_NAME: 'ServerlessJobs-dev',
      });
      expect(JSON.parse(renderCfnString(variables.QUEUE_URLS))).toEqual({
        default: `<${queueIds.get('default')}>`,
        production: `<${queueIds.get('production')}>`,
        security: `<${queueIds.get('security')}>`,
      });
      expect(JSON.parse(variables.DEPLOYMENT_CONFIG as string)).toEqual({
        defaultQueue: 'default',
        queues: ['production', 'security'],
        environments: { production: { queue: 'production', variables: { STAGE: 'production' } } },
        allowedTargetNetworks: [],
        notificationTopicArns: [],
        eventBusName: 'default',
        awsTargets: { stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] },
      });
    });
  });

  describe('IAM', () => {
    const roleId = roleIdOf(template, functionId);

    it('gives the function role no managed policy and no inline policy of its own', () => {
      // Prepare
      const role = propertiesOf(template, 'AWS::IAM::Role', roleId);

      // Assess
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.Policies).toBeUndefined();
    });

    it("lets the API function reach only its table, secret, key, worker queues, log group, the group's schedules and the event bus", () => {
      // Act
      const reached = resourcesReachedBy(stack, template, functionId, [
        [{ Ref: secretId }, 'secret'],
        [schedulesArnOf('ServerlessJobs-dev'), 'schedules'],
        [{ 'Fn::GetAtt': [logicalIdOf(stack, stack.cronScheduling.schedulerRole), 'Arn'] }, 'scheduler role'],
      ]);

      // Assess
      expect(new Set(reached.keys())).toEqual(
        new Set([
          'table',
          'table indexes',
          'secret',
          'key',
          'log group',
          'queue default',
          'queue production',
          'queue security',
          'schedules',
          'scheduler role',
          'event bus',
        ]),
      );
      // A callback or a cancel ends a run, which goes on the bus (test/infra/alerting.test.ts).
      expect(reached.get('event bus')).toEqual(['events:PutEvents']);
      // Exactly the stores' calls: item reads/writes and queries on the table, queries on its indexes.
      expect(reached.get('table')).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
      expect(reached.get('table indexes')).toEqual(['dynamodb:Query']);
      expect(reached.get('secret')).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      // Seals and opens entity secrets; named actions, no kms:ReEncrypt*/GenerateDataKey* wildcards.
      expect(reached.get('key')).toEqual(['kms:Decrypt', 'kms:Encrypt']);
      for (const name of queueIds.keys()) {
        expect(reached.get(`queue ${name}`)).toEqual([
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:SendMessage',
        ]);
      }
      // Puts and removes a job's schedules; never lists or reads them (the sweeper's reconciliation does).
      expect(reached.get('schedules')).toEqual([
        'scheduler:CreateSchedule',
        'scheduler:DeleteSchedule',
        'scheduler:UpdateSchedule',
      ]);
      expect(reached.get('scheduler role')).toEqual(['iam:PassRole']);
    });

    it('grants each table statement exactly its actions, on the table or on its indexes only', () => {
      // Assess: separate statements, so no item action reaches the indexes.
      hasTableStatements(template, tableId, roleIdOf(template, functionId));
    });
  });
});

describe('ControlPlaneApi in a stack of its own', () => {
  it('declares the given routes, then the catch-alls, all on the API function', () => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();

    // Act
    const api = fixture.addControlPlane();
    const template = Template.fromStack(fixture.stack);

    // Assess
    const keys = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties?.RouteKey,
    );
    expect(keys.sort()).toEqual(['ANY /', 'ANY /{proxy+}', 'GET /health']);
    expect(integrationIdOf(template, logicalIdOf(fixture.stack, api.apiFunction))).toBeDefined();
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      RouteSettings: Match.absent(),
    });
  });

  it('gives a route added by another ingress its own throttle, and makes the stage wait for the route', () => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();
    const api = fixture.addControlPlane();
    const other = fixture.addQueue({ name: 'other' }).worker;

    // Act
    const route = api.addRoute({
      route: { method: 'POST', path: '/hooks/{id}' },
      integration: new HttpLambdaIntegration('OtherIntegration', other),
      throttle: { rateLimit: 2.5, burstLimit: 5 },
    });
    const template = Template.fromStack(fixture.stack);

    // Assess
    const stage = resourcesOf(template, 'AWS::ApiGatewayV2::Stage');
    const [stageResource] = Object.values(stage) as {
      DependsOn?: string[];
      Properties?: Record<string, unknown>;
    }[];
    expect(stageResource?.Properties?.RouteSettings).toEqual({
      'POST /hooks/{id}': { ThrottlingRateLimit: 2.5, ThrottlingBurstLimit: 5 },
    });
    expect(stageResource?.DependsOn).toContain(logicalIdOf(fixture.stack, route));
  });

  it('takes the route list the stack passes, with GET /health first (the integration hangs off it)', () => {
    // Assess
    expect(controlPlaneRoutes[0]).toEqual({ method: 'GET', path: '/health', authenticatesCaller: false });
    expect(new Set(controlPlaneRoutes.map(({ method, path }) => `${method} ${path}`)).size).toBe(
      controlPlaneRoutes.length,
    );
    for (const { method } of controlPlaneRoutes) expect(Object.values(HttpMethod)).toContain(method);
  });

  it.each([
    [{ routes: [] }, 'routes must list at least one route'],
    [{ routes: [{ method: 'GET', path: 'health' }] }, 'route "GET health" must start with "/"'],
    [{ routes: [{ method: 'FETCH', path: '/health' }] }, 'route "FETCH /health" has an unknown method'],
    [
      {
        routes: [
          { method: 'GET', path: '/health' },
          { method: 'GET', path: '/health' },
        ],
      },
      'route "GET /health" is listed twice',
    ],
    [
      { routes: [{ method: 'ANY', path: '/{proxy+}' }] },
      'route "ANY /{proxy+}" is a catch-all the API adds itself',
    ],
    [{ throttle: { rateLimit: 0, burstLimit: 20 } }, 'throttle.rateLimit must be a number above 0'],
    [
      { throttle: { rateLimit: 10, burstLimit: 1.5 } },
      'throttle.burstLimit must be an integer from 1 to 5000',
    ],
    [{ executionRetentionDays: 0 }, 'executionRetentionDays must be an integer from 1 to 3650, got 0'],
  ] as [Record<string, unknown>, string][])('throws for bad props: %j', (overrides, message) => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();
    const scheduling = fixture.addCron();

    // Act
    const build = () =>
      new ControlPlaneApi(fixture.stack, 'ControlPlane', {
        table: fixture.table,
        secretsKey: fixture.secretsKey,
        runQueues: fixture.runQueues,
        runEnvironment: fixture.runEnvironment,
        routes: [{ method: 'GET', path: '/health' }],
        deploymentName: 'fixture',
        throttle: { rateLimit: 10, burstLimit: 20 },
        scheduling,
        apiKeySecret: new Secret(fixture.stack, 'ApiKeySecret'),
        ...overrides,
      });

    // Assess
    expect(build).toThrow(`ControlPlaneApi: ${message}`);
  });

  it('throws for a bad route or throttle added later', () => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();
    const api = fixture.addControlPlane();
    const integration = new HttpLambdaIntegration('OtherIntegration', api.apiFunction);

    // Act
    const duplicate = () => api.addRoute({ route: { method: 'GET', path: 'no-slash' }, integration });
    const badThrottle = () =>
      api.addRoute({
        route: { method: 'POST', path: '/hooks' },
        integration,
        throttle: { rateLimit: 20_000, burstLimit: 1 },
      });

    // Assess
    expect(duplicate).toThrow('ControlPlaneApi.addRoute: route "GET no-slash" must start with "/"');
    expect(badThrottle).toThrow('throttle.rateLimit must be a number above 0 and at most 10000, got 20000');
  });
});

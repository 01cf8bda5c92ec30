import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { deploymentConfigFromContext, deploymentNames, getDeploymentConfig } from '../../infra/aws/config.js';
import { jobsTableDefinition } from '../../shared/adapters/aws/jobs-table.js';
import {
  allPolicyDocuments,
  asArray,
  buildApp,
  type CfnResource,
  hasTableStatements,
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
  schedulesArnOf,
  statementsOf,
  variablesOf,
} from './support.js';

afterAll(removeOutdirs);

describe('JobsStack', () => {
  const { stack, config } = buildApp('dev');
  const template = Template.fromStack(stack);
  const tableId = onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable');
  const secretId = onlyLogicalId(template, 'AWS::SecretsManager::Secret');
  const functionId = logicalIdOf(stack, stack.apiFunction);
  const keyId = logicalIdOf(stack, stack.secretsKey);
  const queueIds = new Map(
    [...stack.workerQueues].map(([name, { queue }]) => [name, logicalIdOf(stack, queue)] as const),
  );

  it('is named after the deployment', () => {
    // Assess
    expect(stack.stackName).toBe('ServerlessJobs-dev');
  });

  describe('HTTP API', () => {
    it('routes every control-plane route, plus catch-alls for / and the rest, to the API function with payload 2.0', () => {
      // Prepare
      const integrationId = integrationIdOf(template, functionId);
      const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).filter(
        (route) => route.Properties?.RouteKey !== 'POST /webhooks/{path}',
      );

      // Act
      const routeKeys = routes.map((route) => route.Properties?.RouteKey).sort();

      // Assess: every route but the webhook ingress (test/infra/webhook.test.ts), which the API does not serve.
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
          'POST /executions/{id}/callback',
          'GET /cron/preview',
          'GET /openapi.json',
          'GET /entities',
          'POST /entities',
          'GET /entities/{id}',
          'PATCH /entities/{id}',
          'DELETE /entities/{id}',
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
          ThrottlingRateLimit: config.apiThrottleRateLimit,
          ThrottlingBurstLimit: config.apiThrottleBurstLimit,
        },
      });
      expect(JSON.parse(accessLogs.Format)).toMatchObject({
        requestId: '$context.requestId',
        status: '$context.status',
      });
      expect(propertiesOf(template, 'AWS::Logs::LogGroup', logGroupId).RetentionInDays).toBe(
        config.logRetention,
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
        `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalIdOf(stack, stack.httpApi)}>/*/*/*`,
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

  describe('jobs table', () => {
    it('is on-demand, with point-in-time recovery, TTL on expires_at and retained', () => {
      // Assess
      template.hasResource('AWS::DynamoDB::GlobalTable', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({
          BillingMode: 'PAY_PER_REQUEST',
          TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
          Replicas: [
            Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
          ],
        }),
      });
    });

    it('has the keys and indexes of the table the app creates locally', () => {
      // Prepare
      const local = jobsTableDefinition('any');
      const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
        String(a.AttributeName).localeCompare(String(b.AttributeName));
      const table = propertiesOf(template, 'AWS::DynamoDB::GlobalTable', tableId);

      // Assess
      expect(table.KeySchema).toEqual(local.KeySchema);
      expect([...(table.AttributeDefinitions as { AttributeName: string }[])].sort(byName)).toEqual(
        [...(local.AttributeDefinitions ?? [])].sort(byName),
      );
      expect(table.GlobalSecondaryIndexes).toEqual(local.GlobalSecondaryIndexes);
      expect((local.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName)).toEqual([
        'gsi1',
        'gsi2',
        'gsi3',
        'gsi4',
      ]);
      // List indexes carry only what lists read; the sweeper's index only keys.
      expect((local.GlobalSecondaryIndexes ?? []).map((index) => index.Projection)).toEqual([
        { ProjectionType: 'INCLUDE', NonKeyAttributes: ['doc', 'enabled', 'version'] },
        { ProjectionType: 'INCLUDE', NonKeyAttributes: ['doc', 'enabled', 'version'] },
        { ProjectionType: 'INCLUDE', NonKeyAttributes: ['doc', 'enabled', 'version'] },
        { ProjectionType: 'KEYS_ONLY' },
      ]);
    });
  });

  describe('API key secret', () => {
    it('is generated by the stack: 48 characters, no punctuation, no template', () => {
      // Assess
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.exact({ ExcludePunctuation: true, PasswordLength: 48 }),
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
        config.logRetention,
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
          'QUEUE_URLS',
          'KMS_KEY_ID',
          'DEPLOYMENT_CONFIG',
          'EXECUTION_RETENTION_DAYS',
          'LOG_LEVEL',
          'NODE_OPTIONS',
          'SCHEDULE_GROUP_NAME',
          'DISPATCH_FUNCTION_ARN',
          'SCHEDULER_ROLE_ARN',
          'SCHEDULER_DLQ_ARN',
        ].sort(),
      );
      expect(variables).toMatchObject({
        TABLE_NAME: { Ref: tableId },
        API_KEY_SECRET_ARN: { Ref: secretId },
        KMS_KEY_ID: { 'Fn::GetAtt': [keyId, 'Arn'] },
        EXECUTION_RETENTION_DAYS: String(config.executionRetentionDays),
        LOG_LEVEL: config.logLevel,
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

    it("lets the API function reach only its table, secret, key, worker queues, log group and the group's schedules", () => {
      // Act
      const reached = resourcesReachedBy(stack, template, functionId, [
        [{ Ref: secretId }, 'secret'],
        [schedulesArnOf('ServerlessJobs-dev'), 'schedules'],
        [{ 'Fn::GetAtt': [logicalIdOf(stack, stack.schedulerRole), 'Arn'] }, 'scheduler role'],
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
        ]),
      );
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

    it('grants no Scan, Batch*, DescribeTable, stream or other DynamoDB action to any function', () => {
      // Act
      const dynamoActions = new Set(
        allPolicyDocuments(template)
          .flatMap(statementsOf)
          .flatMap((statement) => asArray(statement.Action))
          .filter((action) => action.startsWith('dynamodb:')),
      );

      // Assess
      expect([...dynamoActions].sort()).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
    });

    it('has no wildcard action in any policy, and no "*" resource but the sweeper\'s ListSchedules', () => {
      // Act
      const statements = allPolicyDocuments(template).flatMap(statementsOf);

      // Assess: ListSchedules supports no resource-level permission (test/infra/schedules.test.ts).
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.filter(isWildcardStatement)).toEqual([listSchedulesStatement]);
      for (const statement of statements) {
        for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
      }
    });

    it('creates only the API, the webhook ingress, one worker per queue, the sweeper and dispatch (no log-retention or other custom resources)', () => {
      // Prepare
      const expected = [
        stack.apiFunction,
        stack.webhookFunction,
        ...stack.workerFunctions.values(),
        stack.sweeperFunction,
        stack.dispatchFunction,
      ].map((fn) => logicalIdOf(stack, fn));

      // Assess
      expect(Object.keys(template.findResources('AWS::Lambda::Function')).sort()).toEqual(expected.sort());
      expect(stack.workerFunctions.size).toBe(3);
      expect(Object.keys(template.findResources('Custom::LogRetention'))).toEqual([]);
    });
  });
});

describe('alarm topic', () => {
  const { stack } = buildApp('dev');
  const template = Template.fromStack(stack);
  const topicId = logicalIdOf(stack, stack.alarmTopic);
  const keyId = logicalIdOf(stack, stack.secretsKey);
  // In template order, which is the order the alarms were created in, as in the topic policy.
  const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));

  it("is the only topic, encrypted with the stack's (customer-managed) key", () => {
    // Assess: CloudWatch cannot publish to a topic under the AWS-managed alias/aws/sns key.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'Serverless Jobs (dev) alarms',
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('denies publishing without TLS and lets only the DLQ alarms of this account publish', () => {
    // Assess: one alarm per worker DLQ, the scheduler DLQ's and the sweeper DLQ's.
    expect(alarmIds).toHaveLength(5);
    expect(alarmIds).toContain(logicalIdOf(stack, stack.node.findChild('SchedulerDeadLetterAlarm')));
    expect(alarmIds).toContain(logicalIdOf(stack, stack.node.findChild('SweeperDeadLetterAlarm')));
    template.resourceCountIs('AWS::SNS::TopicPolicy', 1);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: Match.exact({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowPublishThroughSSLOnly',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
          {
            Sid: 'AllowTheDeadLetterAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': alarmIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) },
            },
          },
        ],
      }),
    });
  });

  it('lets CloudWatch of this account use the key to publish to the encrypted topic, and nothing more', () => {
    // Assess
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.exact({
            Sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedAlarmTopic',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('is the alarm action, and the only action, of every DLQ alarm', () => {
    // Assess
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: Match.exact([{ Ref: topicId }]),
      OKActions: Match.absent(),
      InsufficientDataActions: Match.absent(),
    });
  });
});

describe('JobsStack per deployment', () => {
  it.each(['dev', 'prod'])('retains the table of the real deployment %s', (env) => {
    // Act
    const { stack } = buildApp(env);

    // Assess
    Template.fromStack(stack).hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });

  it('lets the throwaway test deployment delete its table', () => {
    // Act
    const { stack } = buildApp('test');

    // Assess
    Template.fromStack(stack).hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
  });

  it('applies the prod throttling and log retention', () => {
    // Prepare
    const prod = getDeploymentConfig('prod');

    // Act
    const template = Template.fromStack(buildApp('prod').stack);

    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: {
        ThrottlingRateLimit: prod.apiThrottleRateLimit,
        ThrottlingBurstLimit: prod.apiThrottleBurstLimit,
      },
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: prod.logRetention });
  });
});

describe('cdk-nag (AWS Solutions)', () => {
  it('reports no finding, error or warning, that is not acknowledged', () => {
    // Prepare
    const { app } = buildApp('prod');

    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('fails synthesis when a finding is not acknowledged (the checks are wired into the app)', () => {
    // Prepare
    const { app, stack } = buildApp('dev');
    new Secret(stack, 'UnacknowledgedSecret');

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).toThrow(/AwsSolutions-SMG4/);
  });

  it('writes every acknowledgement to the template with a reason', () => {
    // Prepare
    const template = Template.fromStack(buildApp('dev').stack);
    const acknowledged = new Set<string>();

    // Act
    for (const resource of Object.values(template.toJSON().Resources as Record<string, CfnResource>)) {
      const nag = resource.Metadata?.cdk_nag as
        | { rules_to_suppress: { id: string; reason: string }[] }
        | undefined;
      for (const rule of nag?.rules_to_suppress ?? []) {
        expect(rule.reason.trim().length, `reason of ${rule.id}`).toBeGreaterThan(40);
        acknowledged.add(rule.id.replace(/\[.*$/, ''));
      }
    }

    // Assess: a new acknowledgement must be added here on purpose, with its reason reviewed.
    expect([...acknowledged].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5',
      'AwsSolutions-L1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
  });
});

describe('deployment config', () => {
  it('uses dev when no env context is given', () => {
    // Act
    const { config, stack } = buildApp();

    // Assess
    expect(config.name).toBe('dev');
    expect(stack.stackName).toBe('ServerlessJobs-dev');
  });

  it('throws a clear error for an unknown env context', () => {
    // Act
    const build = () => buildApp('staging');

    // Assess
    expect(build).toThrow(
      'Unknown deployment "staging" (from CDK context "env"); expected one of: local, test, dev, prod',
    );
  });

  it('throws for an env context that is not a string', () => {
    // Prepare
    const app = new App({ context: { env: 42 } });

    // Act
    const read = () => deploymentConfigFromContext(app.node);

    // Assess
    expect(read).toThrow('CDK context "env" must be a string');
  });

  it.each(deploymentNames)('has a complete, sane entry for %s', (name) => {
    // Act
    const config = getDeploymentConfig(name);

    // Assess
    expect(config.name).toBe(name);
    expect(config.stageName).not.toBe('');
    expect(config.apiThrottleRateLimit).toBeGreaterThan(0);
    expect(config.apiThrottleBurstLimit).toBeGreaterThanOrEqual(config.apiThrottleRateLimit);
    expect(config.logRetention).toBeGreaterThan(0);
  });
});

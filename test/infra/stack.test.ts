import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { deploymentConfigFromContext, deploymentNames, getDeploymentConfig } from '../../infra/aws/config.js';
import { createJobsApp, type JobsApp } from '../../infra/aws/jobs-app.js';
import { jobsTableDefinition } from '../../shared/adapters/aws/jobs-table.js';

// No asset bundling: these tests look at the template only (bundle-load.test.ts covers the bundle).
const noBundling = { 'aws:cdk:bundling-stacks': [] };

// Each app synthesizes into its own temporary directory, removed at the end.
const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

function buildApp(env?: string): JobsApp {
  const outdir = mkdtempSync(join(tmpdir(), 'jobs-stack-test-'));
  outdirs.push(outdir);
  return createJobsApp({ outdir, context: env === undefined ? noBundling : { ...noBundling, env } });
}

type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
};

function resourcesOf(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

function propertiesOf(template: Template, type: string, logicalId: string): Record<string, unknown> {
  const resource = resourcesOf(template, type)[logicalId];
  if (!resource) throw new Error(`no ${type} ${logicalId} in the template`);
  return resource.Properties ?? {};
}

function onlyLogicalId(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids, `exactly one ${type}`).toHaveLength(1);
  return ids[0] as string;
}

type PolicyStatement = { Effect: string; Action: string | string[]; Resource: unknown };

function statementsOf(document: unknown): PolicyStatement[] {
  return (document as { Statement: PolicyStatement[] }).Statement;
}

/** Every policy document of the stack: inline and attached policies, role inline policies, managed policies. */
function allPolicyDocuments(template: Template): unknown[] {
  const documents: unknown[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const policy of Object.values(resourcesOf(template, type))) {
      documents.push(policy.Properties?.PolicyDocument);
    }
  }
  for (const role of Object.values(resourcesOf(template, 'AWS::IAM::Role'))) {
    for (const policy of (role.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
      documents.push(policy.PolicyDocument);
    }
  }
  return documents;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('JobsStack', () => {
  const { stack, config } = buildApp('dev');
  const template = Template.fromStack(stack);
  const tableId = onlyLogicalId(template, 'AWS::DynamoDB::GlobalTable');
  const secretId = onlyLogicalId(template, 'AWS::SecretsManager::Secret');
  const functionId = onlyLogicalId(template, 'AWS::Lambda::Function');

  it('is named after the deployment', () => {
    // Assess
    expect(stack.stackName).toBe('ServerlessJobs-dev');
  });

  describe('HTTP API', () => {
    it('routes every control-plane route, plus a catch-all, to the API function with payload 2.0', () => {
      // Prepare
      const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));
      const integrationId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Integration');

      // Act
      const routeKeys = routes.map((route) => route.Properties?.RouteKey).sort();

      // Assess
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
          'ANY /{proxy+}',
        ].sort(),
      );
      for (const route of routes) {
        expect(route.Properties?.Target).toEqual({
          'Fn::Join': ['', ['integrations/', { Ref: integrationId }]],
        });
      }
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
      const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission'));

      // Assess
      expect(permissions).toHaveLength(1);
      expect(permissions[0]?.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
      expect(JSON.stringify(permissions[0]?.Properties?.SourceArn)).toContain('"Ref":"HttpApi');
    });

    it('outputs the API URL and the API key secret name', () => {
      // Assess
      template.hasOutput('ApiUrl', { Value: Match.anyValue() });
      template.hasOutput('ApiKeySecretName', { Value: Match.anyValue() });
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
      const logGroupId = (fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;

      // Assess
      expect(fn).toMatchObject({
        Architectures: ['arm64'],
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        MemorySize: 512,
        Timeout: 10,
        Environment: {
          Variables: {
            TABLE_NAME: { Ref: tableId },
            API_KEY_SECRET_ARN: { Ref: secretId },
            LOG_LEVEL: config.logLevel,
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
      });
      expect(propertiesOf(template, 'AWS::Logs::LogGroup', logGroupId).RetentionInDays).toBe(
        config.logRetention,
      );
    });
  });

  describe('IAM', () => {
    const fn = propertiesOf(template, 'AWS::Lambda::Function', functionId);
    const roleId = (fn.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const logGroupId = (fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;

    it('gives the function role no managed policy and no inline policy of its own', () => {
      // Prepare
      const role = propertiesOf(template, 'AWS::IAM::Role', roleId);

      // Assess
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.Policies).toBeUndefined();
    });

    it('lets the function reach only its table (and indexes), its secret and its log group', () => {
      // Prepare
      const rolePolicies = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
        ((policy.Properties?.Roles ?? []) as unknown[]).some(
          (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }),
        ),
      );
      const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
      const allowed = new Map<string, string>([
        [JSON.stringify(tableArn), 'table'],
        [JSON.stringify({ 'Fn::Join': ['', [tableArn, '/index/*']] }), 'table indexes'],
        [JSON.stringify({ Ref: secretId }), 'secret'],
        [JSON.stringify({ 'Fn::GetAtt': [logGroupId, 'Arn'] }), 'log group'],
      ]);

      // Act
      const statements = rolePolicies.flatMap((policy) => statementsOf(policy.Properties?.PolicyDocument));
      const reached = statements.flatMap((statement) =>
        asArray(statement.Resource).map((resource) => allowed.get(JSON.stringify(resource)) ?? resource),
      );
      const secretActions = statements
        .filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify({ Ref: secretId }))
        .flatMap((statement) => asArray(statement.Action));

      // Assess
      expect(rolePolicies.length).toBeGreaterThan(0);
      expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
      expect(new Set(reached)).toEqual(new Set(['table', 'table indexes', 'secret', 'log group']));
      expect(secretActions.sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
    });

    it('has no "*" resource and no wildcard action in any policy of the stack', () => {
      // Act
      const statements = allPolicyDocuments(template).flatMap(statementsOf);

      // Assess
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(asArray(statement.Resource)).not.toContain('*');
        for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
      }
    });

    it('creates no Lambda beyond the API function (no log-retention or other custom resources)', () => {
      // Assess
      expect(Object.keys(template.findResources('AWS::Lambda::Function'))).toEqual([functionId]);
      expect(Object.keys(template.findResources('Custom::LogRetention'))).toEqual([]);
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

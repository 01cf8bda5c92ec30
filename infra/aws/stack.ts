import { fileURLToPath } from 'node:url';
import {
  type CfnElement,
  CfnOutput,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  type HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Billing, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './config.js';
import { JobsFunction } from './jobs-function.js';

/** Props of {@link JobsStack}. */
export interface JobsStackProps extends StackProps {
  /** Settings of the deployment this stack is for. */
  readonly config: DeploymentConfig;
}

/** Control-plane routes served by the API function (the catch-all `ANY /{proxy+}` is added after them). */
const apiRoutes: ReadonlyArray<readonly [HttpMethod, string]> = [
  [HttpMethod.GET, '/health'],
  [HttpMethod.GET, '/jobs'],
  [HttpMethod.POST, '/jobs'],
  [HttpMethod.GET, '/jobs/{id}'],
  [HttpMethod.PATCH, '/jobs/{id}'],
  [HttpMethod.DELETE, '/jobs/{id}'],
  [HttpMethod.POST, '/jobs/{id}/enable'],
  [HttpMethod.POST, '/jobs/{id}/disable'],
];

const apiEntry = fileURLToPath(new URL('../../functions/api.ts', import.meta.url));

/**
 * The Serverless Jobs deployment: jobs table, initial API key, API function and HTTP API.
 * Each concern is built by its own method so further functions (webhook, worker, dispatch) slot in.
 */
export class JobsStack extends Stack {
  /** Single table holding jobs, executions and their lookup items (same schema as the local runtime's). */
  public readonly table: TableV2;
  /** Secret holding the API keys (one per line); created with one key generated at deploy time. */
  public readonly apiKeySecret: Secret;
  /** Control-plane Lambda behind the HTTP API. */
  public readonly apiFunction: JobsFunction;
  /** The HTTP API (control plane). */
  public readonly httpApi: HttpApi;
  /** The API's `$default` stage, throttled and access-logged. */
  public readonly apiStage: HttpStage;

  private readonly config: DeploymentConfig;

  constructor(scope: Construct, id: string, props: JobsStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, {
      description: `Serverless Jobs (${config.name}): jobs API, DynamoDB table and API key secret`,
      ...stackProps,
    });
    this.config = config;
    Tags.of(this).add('service', 'serverless-jobs');
    Tags.of(this).add('stage', this.config.stageName);

    this.table = this.createTable();
    this.apiKeySecret = this.createApiKeySecret();
    this.apiFunction = this.createApiFunction();
    [this.httpApi, this.apiStage] = this.createHttpApi(this.apiFunction);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the jobs API',
      value: this.apiStage.url,
    });
    new CfnOutput(this, 'ApiKeySecretName', {
      description:
        'Secret holding the API keys (one per line): aws secretsmanager get-secret-value --secret-id <name>',
      value: this.apiKeySecret.secretName,
    });
  }

  private createTable(): TableV2 {
    // Keys and index names must match jobsTableDefinition() in shared/adapters/aws/jobs-table.ts, the table
    // the local runtime and integration tests create; test/infra/stack.test.ts compares the two.
    const stringKey = (name: string) => ({ name, type: AttributeType.STRING });
    return new TableV2(this, 'JobsTable', {
      partitionKey: stringKey('pk'),
      sortKey: stringKey('sk'),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expires_at',
      removalPolicy: this.config.tableRemovalPolicy,
      globalSecondaryIndexes: (['gsi1', 'gsi2', 'gsi3'] as const).map((indexName) => ({
        indexName,
        partitionKey: stringKey(`${indexName}pk`),
        sortKey: stringKey(`${indexName}sk`),
        projectionType: ProjectionType.ALL,
      })),
    });
  }

  private createApiKeySecret(): Secret {
    const secret = new Secret(this, 'ApiKeySecret', {
      description:
        'API keys of the Serverless Jobs control plane, one per line (Authorization: Bearer <key>); ' +
        'created with one generated key',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds the API keys clients send as bearer tokens; a scheduled rotation would cut every ' +
        'client off at once with no way to hand them the new key. Rotation is manual and overlapping: add a ' +
        'new key as a new line of the secret (the API accepts several, re-read every 5 minutes), move clients, ' +
        'then remove the old line.',
    });
    return secret;
  }

  private createApiFunction(): JobsFunction {
    const fn = new JobsFunction(this, 'ApiFunction', {
      entry: apiEntry,
      description: 'Serverless Jobs control-plane API',
      logRetention: this.config.logRetention,
      environment: {
        TABLE_NAME: this.table.tableName,
        API_KEY_SECRET_ARN: this.apiKeySecret.secretArn,
        LOG_LEVEL: this.config.logLevel,
      },
    });
    this.table.grantReadWriteData(fn);
    this.apiKeySecret.grantRead(fn);
    this.suppressFunctionFindings(fn);
    return fn;
  }

  private createHttpApi(handler: JobsFunction): [HttpApi, HttpStage] {
    const api = new HttpApi(this, 'HttpApi', {
      description: `Serverless Jobs control plane (${this.config.name})`,
      // The default stage is added below with throttling and access logs, which HttpApi's own lacks.
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: this.config.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: this.config.apiThrottleRateLimit,
        burstLimit: this.config.apiThrottleBurstLimit,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // HTTP API context variables only; no headers, so the Authorization header is never logged.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            httpMethod: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('ApiIntegration', handler, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      // One invoke permission for the whole API rather than one per route: every route targets this
      // function, and per-route permissions would grow its resource policy with each route added.
      scopePermissionToRoute: false,
    });
    const routes = [
      ...apiRoutes.flatMap(([method, path]) => api.addRoutes({ path, methods: [method], integration })),
      // Unknown paths and methods reach the app too, so they get its JSON 404/405 instead of API Gateway's.
      ...api.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Authorization is done by the API function, not API Gateway: control-plane routes require ' +
          '"Authorization: Bearer <api key>", compared in constant time with the keys from the API key ' +
          'secret; /health is public by design.',
      });
    }
    return [api, stage];
  }

  /** Findings on every JobsFunction that are justified by design rather than fixable. */
  private suppressFunctionFindings(fn: JobsFunction): void {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the esbuild target (node22) and the bundle-load test match it; moving ' +
        'to a newer runtime is a deliberate upgrade of both together.',
    });
    // The finding names the table by logical id, so acknowledge exactly that resource, not any "/index/*".
    const tableArn = `<${this.resolve((this.table.node.defaultChild as CfnElement).logicalId)}.Arn>`;
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${tableArn}/index/*]`,
        reason:
          'grantReadWriteData scopes access to this table and its indexes; "index/*" covers the gsi1-3 query ' +
          'indexes of this one table only.',
      });
    }
  }
}

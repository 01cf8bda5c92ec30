import { Duration, Validations } from 'aws-cdk-lib';
import type { HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { awsDefaults, runDefaults } from '../../shared/config/defaults.js';
import { webhookEnvironment } from '../../shared/config/environments/webhook-environment.js';
import type { ControlPlaneApi, ControlPlaneRoute, Throttle } from './control-plane-api.js';
import { functionEntry, JobsFunction } from './jobs-function.js';
import type { JobsTable } from './jobs-table.js';
import { integerProblem, limits, throwFirst } from './limits.js';
import type { RunEnvironment } from './run-environment.js';
import type { RunQueues } from './run-queues.js';

/** The public ingress of webhook deliveries, served by the webhook function alone. */
export const webhookRoute = { method: 'POST', path: '/webhooks/{path}' } as const satisfies ControlPlaneRoute;

/** Props of {@link WebhookIngress}. */
export interface WebhookIngressProps {
  /** The HTTP API the route is mounted on. */
  readonly api: ControlPlaneApi;
  /** The jobs table; the function reads the job and writes its run's items, and never lists anything. */
  readonly table: JobsTable;
  /** The worker queues the function sends runs to (SendMessage only). */
  readonly runQueues: RunQueues;
  /** Seals webhook secrets; the function may decrypt with it (rotation, which seals, is the API's). */
  readonly secretsKey: IKey;
  /** The variables every function reads, and how to write them. */
  readonly runEnvironment: RunEnvironment;
  /**
   * The route's own throttle, in place of the stage-wide one.
   * @default 100 requests per second, bursts of 200
   */
  readonly throttle?: Throttle;
  /**
   * Days the execution records of the runs it starts are kept.
   * @default 90
   */
  readonly executionRetentionDays?: number;
  /**
   * Retention of the function's log group.
   * @default JobsFunction's (one month)
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray active tracing of the function.
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * The webhook ingress: `POST /webhooks/{path}` on the control plane's HTTP API, with its own integration, invoke
 * permission (scoped to the route) and throttle, served by the webhook function, which verifies a delivery's
 * signature against the job's sealed secret and starts a run. Public and unauthenticated at API Gateway, so its
 * function gets the least of all: item reads and writes on the table (no Query, no index), kms:Decrypt only,
 * sqs:SendMessage only, and no API key secret.
 */
export class WebhookIngress extends Construct {
  /** Serves `POST /webhooks/{path}` only. */
  public readonly webhookFunction: JobsFunction;
  /** The `POST /webhooks/{path}` route (throttled on its own by the stage's route settings). */
  public readonly route: HttpRoute;

  /** @throws Error when the throttle is out of range or the retention is not an integer from 1 to 3650 days. */
  constructor(scope: Construct, id: string, props: WebhookIngressProps) {
    super(scope, id);
    const executionRetentionDays = props.executionRetentionDays ?? runDefaults.executionRetentionDays;
    throwFirst('WebhookIngress', [
      integerProblem('executionRetentionDays', executionRetentionDays, limits.executionRetentionDays),
    ]);

    const { values, json } = props.runEnvironment;
    this.webhookFunction = new JobsFunction(this, 'WebhookFunction', {
      entry: functionEntry('webhook'),
      description: 'Serverless Jobs webhook ingress (POST /webhooks/{path})',
      logRetention: props.logRetention,
      // Verifies one HMAC over at most 256 KiB and writes a few items: no need for the API's 512 MB.
      memorySize: 256,
      timeout: Duration.seconds(10),
      tracing: props.tracing,
      environment: webhookEnvironment.write(
        { ...values, secretsKeyArn: props.secretsKey.keyArn, executionRetentionDays },
        json,
      ),
    });
    props.table.grantItemAccess(this.webhookFunction);
    props.secretsKey.grantDecrypt(this.webhookFunction);
    props.runQueues.grantSendMessage(this.webhookFunction);

    // API Gateway picks the most specific route, so `POST /webhooks/{path}` wins over the API's `ANY /{proxy+}`
    // and never reaches the API function. Its invoke permission is scoped to this route (the integration's
    // default).
    this.route = props.api.addRoute({
      route: webhookRoute,
      integration: new HttpLambdaIntegration('WebhookIntegration', this.webhookFunction, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
      throttle: props.throttle ?? {
        rateLimit: awsDefaults.webhookThrottleRateLimit,
        burstLimit: awsDefaults.webhookThrottleBurstLimit,
      },
    });
    Validations.of(this.route).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'POST /webhooks/{path} is called by external systems (CI, Git hosts, payment providers) that cannot ' +
        'hold an API key or sign AWS requests. The webhook function authenticates every delivery by its ' +
        "HMAC-SHA256 signature over the raw body with the job's secret (constant-time compare; Standard " +
        'Webhooks timestamps and replay protection) and answers 401, storing nothing, when the signature is ' +
        'missing or wrong; the path is unguessable (>=128 bits) and the route has its own API Gateway throttle.',
    });
  }
}

import { Lazy, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  type HttpRouteIntegration,
  type HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { awsDefaults, runDefaults } from '../../shared/config/defaults.js';
import { apiEnvironment } from '../../shared/config/environments/api-environment.js';
import type { AuthMode } from '../../shared/domain/access.js';
import { OPENAPI_DOCUMENT_FILE } from '../../shared/http/openapi-file.js';
import type { CronScheduling } from './cron-scheduling.js';
import { functionEntry, JobsFunction } from './jobs-function.js';
import type { JobsTable } from './jobs-table.js';
import { integerProblem, limits, rateProblem, throwFirst } from './limits.js';
import type { RunEnvironment } from './run-environment.js';
import type { RunQueues } from './run-queues.js';

/** One control-plane route served by the API function. */
export interface ControlPlaneRoute {
  /** `GET`, `POST`, ... (API Gateway's methods). */
  readonly method: `${HttpMethod}`;
  /** The path, with `{name}` parameters (`/jobs/{id}`). */
  readonly path: string;
  /**
   * The app authenticates the route's callers with their own credential (an API key, or an IAM principal):
   * the routes IAM authorization covers when the API's `auth` is `iam` or `both`.
   * @default false
   */
  readonly authenticatesCaller?: boolean;
}

/** Requests per second a stage or a route accepts. */
export interface Throttle {
  /** Steady-state requests per second (above 0, at most 10,000). */
  readonly rateLimit: number;
  /** Burst above the steady-state rate (an integer from 1 to 5,000). */
  readonly burstLimit: number;
}

/** Props of {@link ControlPlaneApi}. */
export interface ControlPlaneApiProps {
  /**
   * The control-plane routes, each sent to the API function. `ANY /` and `ANY /{proxy+}` follow them, so that
   * unknown paths and methods get the app's JSON 404/405 instead of API Gateway's; they must not be listed. The
   * API function's invoke permission and integration hang off the first route.
   */
  readonly routes: readonly ControlPlaneRoute[];
  /** Names the deployment in the API's description. */
  readonly deploymentName: string;
  /** Throttling of the whole stage (a route may have its own: {@link ControlPlaneApi.addRoute}). */
  readonly throttle: Throttle;
  /** The jobs table; the API gets the stores' access to it. */
  readonly table: JobsTable;
  /** The worker queues the API sends runs to. */
  readonly runQueues: RunQueues;
  /** The cron schedules the API writes when jobs change. */
  readonly scheduling: CronScheduling;
  /** The API keys, one per line; read by the API function. */
  readonly apiKeySecret: ISecret;
  /** Seals and opens entity signing secrets and webhook secrets. */
  readonly secretsKey: IKey;
  /** The variables every function reads, and how to write them. */
  readonly runEnvironment: RunEnvironment;
  /**
   * Days the execution records of the runs the API starts are kept.
   * @default 90
   */
  readonly executionRetentionDays?: number;
  /**
   * Retention of the API function's log group and of the access logs.
   * @default JobsFunction's (one month) for the function, LogGroup's (two years) for the access logs
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray active tracing of the API function.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * How callers of the routes marked `authenticatesCaller` authenticate: `api-key` (the function checks
   * them), `iam` (API Gateway's IAM authorization on each of those routes; the function trusts the principal
   * it verified and refuses keys), or `both` (this API as with `api-key`, plus {@link iamApi}, where those
   * routes have IAM authorization).
   * @default 'api-key'
   */
  readonly auth?: AuthMode;
}

/**
 * The control plane: an HTTP API whose `$default` stage is throttled and access-logged (no headers, so the
 * Authorization header is never logged), the API function behind every control-plane route plus the catch-alls,
 * and what that function may do. Authorization is the function's (API keys, callback tokens), or, with `auth`
 * `iam` or `both`, API Gateway's IAM authorization on the routes that authenticate their callers.
 * Other ingresses add their own routes with {@link addRoute}, throttled apart if they wish.
 */
export class ControlPlaneApi extends Construct {
  /** Serves the control-plane routes. */
  public readonly apiFunction: JobsFunction;
  /** The HTTP API: the control plane, and whatever ingress is mounted on it. */
  public readonly httpApi: HttpApi;
  /** The API's `$default` stage, throttled and access-logged. */
  public readonly stage: HttpStage;
  /**
   * With `auth: 'both'`, the second HTTP API: the same routes before the same function, those that
   * authenticate their callers with IAM authorization; its `$default` stage is throttled and logged alike.
   */
  public readonly iamApi: HttpApi | undefined;
  /** The `$default` stage of {@link iamApi}. */
  public readonly iamStage: HttpStage | undefined;
  private readonly routeSettings: Record<
    string,
    { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }
  > = {};

  /**
   * @throws Error when a route is listed twice, does not start with "/", is one of the catch-alls, or has a
   *   method API Gateway does not know; when the throttle is out of range.
   */
  constructor(scope: Construct, id: string, props: ControlPlaneApiProps) {
    super(scope, id);
    const executionRetentionDays = props.executionRetentionDays ?? runDefaults.executionRetentionDays;
    const auth = props.auth ?? awsDefaults.auth;
    throwFirst('ControlPlaneApi', [
      ...routeProblems(props.routes),
      rateProblem('throttle.rateLimit', props.throttle.rateLimit),
      integerProblem('throttle.burstLimit', props.throttle.burstLimit, limits.throttleBurstLimit),
      integerProblem('executionRetentionDays', executionRetentionDays, limits.executionRetentionDays),
    ]);

    // No PUBLIC_BASE_URL: the API's URL depends on the API, which depends on this function. The API function
    // derives its base URL from each request instead (requestContext.domainName).
    const { values, json } = props.runEnvironment;
    this.apiFunction = new JobsFunction(this, 'ApiFunction', {
      entry: functionEntry('api'),
      description: 'Serverless Jobs control-plane API',
      logRetention: props.logRetention,
      tracing: props.tracing,
      // GET /openapi.json answers with the committed document, read from beside the bundle.
      files: [{ from: 'docs/openapi.json', to: OPENAPI_DOCUMENT_FILE }],
      environment: apiEnvironment.write(
        {
          ...values,
          apiKeySecretArn: props.apiKeySecret.secretArn,
          secretsKeyArn: props.secretsKey.keyArn,
          executionRetentionDays,
          authMode: auth,
          ...props.scheduling.schedulingEnvironment,
        },
        json,
      ),
    });
    props.table.grantStoreAccess(this.apiFunction);
    // Job writes put or remove the job's schedules; it never lists or reads them (that is reconciliation's).
    props.scheduling.grantManageSchedules(this.apiFunction);
    props.apiKeySecret.grantRead(this.apiFunction);
    // Seals the signing secrets of the entities it creates (KmsSecretBox: Encrypt/Decrypt directly with the
    // key). Named actions rather than grantEncryptDecrypt, whose kms:ReEncrypt* and kms:GenerateDataKey*
    // wildcards the API has no use for (and cdk-nag IAM5 flags).
    props.secretsKey.grant(this.apiFunction, 'kms:Encrypt', 'kms:Decrypt');
    props.runQueues.grantEnqueue(this.apiFunction);

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: `Serverless Jobs control plane (${props.deploymentName})`,
      // The default stage is added below with throttling and access logs, which HttpApi's own lacks.
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      ...(props.logRetention !== undefined && { retention: props.logRetention }),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = defaultStage(this.httpApi, 'DefaultStage', props.throttle, accessLogs);
    // Rendered when the template is written, so the routes added after the stage (addRoute) are in it.
    (this.stage.node.defaultChild as CfnStage).routeSettings = Lazy.any({
      produce: () => (Object.keys(this.routeSettings).length > 0 ? this.routeSettings : undefined),
    });
    this.addFunctionRoutes(this.httpApi, 'ApiIntegration', props.routes, auth === 'iam');

    if (auth === 'both') {
      this.iamApi = new HttpApi(this, 'IamHttpApi', {
        description: `Serverless Jobs control plane, IAM-authorized (${props.deploymentName})`,
        createDefaultStage: false,
      });
      this.iamStage = defaultStage(this.iamApi, 'IamDefaultStage', props.throttle, accessLogs);
      this.addFunctionRoutes(this.iamApi, 'IamApiIntegration', props.routes, true);
    }
  }

  /**
   * `routes` and the catch-alls on `api`, each sent to the API function; with `iam`, the routes that
   * authenticate their callers get API Gateway's IAM authorization, and only the others (and the catch-alls,
   * which reach the app's 404/405, or its 401 for a caller route's path spelled otherwise) are acknowledged
   * as authorized by the function.
   */
  private addFunctionRoutes(
    api: HttpApi,
    integrationId: string,
    routes: readonly ControlPlaneRoute[],
    iam: boolean,
  ): void {
    const integration = new HttpLambdaIntegration(integrationId, this.apiFunction, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      // One invoke permission for the whole API rather than one per route: every route targets this
      // function, and per-route permissions would grow its resource policy with each route added.
      scopePermissionToRoute: false,
    });
    const authorizer = new HttpIamAuthorizer();
    const withFunctionAuth: HttpRoute[] = [];
    for (const { method, path, authenticatesCaller } of routes) {
      const byIam = iam && authenticatesCaller === true;
      const added = api.addRoutes({
        path,
        methods: [method as HttpMethod],
        integration,
        ...(byIam && { authorizer }),
      });
      if (!byIam) withFunctionAuth.push(...added);
    }
    // Unknown paths and methods reach the app too, so they get its JSON 404/405 instead of API Gateway's.
    // `/{proxy+}` needs at least one segment, so the root has a route of its own.
    withFunctionAuth.push(
      ...api.addRoutes({ path: '/', methods: [HttpMethod.ANY], integration }),
      ...api.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration }),
    );
    for (const route of withFunctionAuth) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Authorization is done by the API function, not API Gateway: control-plane routes require ' +
          '"Authorization: Bearer <api key>", compared in constant time with the keys from the API key ' +
          'secret and the stored keys, or, with IAM authorization, the IAM principal API Gateway verified for ' +
          'that very route; /executions/{id}/callback is authenticated by the per-execution callback token sent ' +
          'to the target; /health and /openapi.json are public by design; the catch-alls ANY / and ANY ' +
          "/{proxy+} only reach the app's JSON 404/405 (or its auth check).",
      });
    }
  }

  /** Base URL of the API (the `$default` stage's). */
  public get url(): string {
    return this.httpApi.apiEndpoint;
  }

  /** Base URL of {@link iamApi}, with `auth: 'both'`. */
  public get iamUrl(): string | undefined {
    return this.iamApi?.apiEndpoint;
  }

  /**
   * Adds a route served by another integration than the API function's (an ingress mounted on this API). With a
   * `throttle`, the route gets its own, a route setting of the stage, in place of the stage-wide one: API Gateway
   * applies the route's setting, not both, and the account's regional limit still caps the whole API. The stage
   * then depends on the route, since API Gateway rejects a setting for a route that does not exist yet ("Unable
   * to find Route by key").
   * @throws Error when the route is bad (as for `routes`) or the throttle out of range
   */
  public addRoute(props: {
    readonly route: ControlPlaneRoute;
    readonly integration: HttpRouteIntegration;
    readonly throttle?: Throttle;
  }): HttpRoute {
    const { route, integration, throttle } = props;
    throwFirst('ControlPlaneApi.addRoute', [
      ...routeProblems([route]),
      ...(throttle
        ? [
            rateProblem('throttle.rateLimit', throttle.rateLimit),
            integerProblem('throttle.burstLimit', throttle.burstLimit, limits.throttleBurstLimit),
          ]
        : []),
    ]);
    const [added] = this.httpApi.addRoutes({
      path: route.path,
      methods: [route.method as HttpMethod],
      integration,
    });
    if (!added)
      throw new Error(`ControlPlaneApi.addRoute: no route was added for ${route.method} ${route.path}`);
    if (throttle) {
      this.routeSettings[`${route.method} ${route.path}`] = {
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
      };
      this.stage.node.addDependency(added);
    }
    return added;
  }
}

/** A `$default` stage of `api`, auto-deployed, throttled, access-logged to `logs` (no headers, so no credential). */
function defaultStage(api: HttpApi, id: string, throttle: Throttle, logs: LogGroup): HttpStage {
  return api.addStage(id, {
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
    accessLogSettings: {
      destination: new LogGroupLogDestination(logs),
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
}

const httpMethods = new Set<string>(Object.values(HttpMethod));
const catchAllPaths = new Set(['/', '/{proxy+}']);

/** What is wrong with a route list, one problem per bad route. */
function routeProblems(routes: readonly ControlPlaneRoute[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  if (routes.length === 0) problems.push('routes must list at least one route');
  for (const { method, path } of routes) {
    const key = `${method} ${path}`;
    if (!httpMethods.has(method)) problems.push(`route ${JSON.stringify(key)} has an unknown method`);
    if (!path.startsWith('/')) problems.push(`route ${JSON.stringify(key)} must start with "/"`);
    if (catchAllPaths.has(path)) {
      problems.push(
        `route ${JSON.stringify(key)} is a catch-all the API adds itself (ANY / and ANY /{proxy+})`,
      );
    }
    if (seen.has(key)) problems.push(`route ${JSON.stringify(key)} is listed twice`);
    seen.add(key);
  }
  return problems;
}

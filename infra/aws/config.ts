import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import type { LogLevel } from '../../shared/adapters/logger.js';
import { awsDefaults, runDefaults } from '../../shared/config/defaults.js';
import { AUTH_MODES, type AuthMode } from '../../shared/domain/access.js';
import { RUN_EVENT_SETTINGS, type RunEventSetting } from '../../shared/domain/run-events.js';
import { TARGET_NETWORKS, type TargetNetwork } from '../../shared/domain/target-network.js';
import type { EnvironmentSpec } from '../../shared/ports.js';
import { awsTargetSettingProblems, type SqsTargetSetting } from './aws-target-grants.js';
import { integerProblem, isLambdaTarget, limits, rateProblem, resourceNamePattern } from './limits.js';

/** Names of the deployments this app knows; pick one with `cdk deploy -c env=<name>`. */
export const deploymentNames = ['local', 'test', 'dev', 'prod'] as const;

export type DeploymentName = (typeof deploymentNames)[number];

/** Name of the worker queue every deployment has; jobs with `executor_type: "auto"` run on it. */
export const defaultQueueName = 'default';

/**
 * Keys of a deployment's data at rest (the table, the queues and their DLQs, the alarm topic); see
 * {@link DeploymentSettings.encryption}.
 */
export const encryptionModes = ['aws-owned', 'customer-managed'] as const;

export type EncryptionMode = (typeof encryptionModes)[number];

/**
 * Settings that differ between deployments (one entry per deployment, skuba-style). The optional fields default
 * to `awsDefaults` and `runDefaults` (shared/config/defaults.ts).
 */
export interface DeploymentSettings {
  /** Deployment name; also the suffix of the stack name (`ServerlessJobs-<name>`). */
  readonly name: DeploymentName;
  /**
   * Label for this deployment, added as the `stage` tag on every resource. The HTTP API itself always
   * serves its `$default` stage: a named API Gateway stage would prefix every path (`/dev/jobs`) and
   * leak into the `rawPath` the handlers route on.
   */
  readonly stageName: string;
  /** Retention of every log group of the stack (functions and API access logs). */
  readonly logRetention: RetentionDays;
  /** Log level passed to the functions (`LOG_LEVEL`). */
  readonly logLevel: LogLevel;
  /** What happens to the jobs table when the stack is deleted or the table replaced. */
  readonly tableRemovalPolicy: RemovalPolicy;
  /** Steady-state requests per second accepted by the API (over the whole stage). */
  readonly apiThrottleRateLimit: number;
  /** Burst of requests accepted by the API above the steady-state rate. */
  readonly apiThrottleBurstLimit: number;
  /**
   * Steady-state requests per second accepted on `POST /webhooks/{path}`, a route setting of the stage. It
   * replaces the stage-wide limit for that route (API Gateway applies the route's own setting, not both);
   * the account's regional limit still caps the whole API.
   * @default 100
   */
  readonly webhookThrottleRateLimit?: number;
  /**
   * Burst of requests accepted on `POST /webhooks/{path}` above its steady-state rate.
   * @default 200
   */
  readonly webhookThrottleBurstLimit?: number;
  /**
   * Named worker queues besides {@link defaultQueueName}; each gets an SQS queue, a DLQ and a worker function.
   * Jobs with `executor_type: "specific_queue"` name one of them.
   */
  readonly queues: readonly string[];
  /**
   * Environments jobs with `executor_type: "environment"` may name, by name: the queue its runs go to
   * ({@link defaultQueueName} or one of {@link queues}) and the variables passed to the target (not secret: they
   * are visible in the functions' environment).
   */
  readonly environments: Readonly<Record<string, Readonly<EnvironmentSpec>>>;
  /**
   * Lambda functions (names, or full function ARNs) that `lambda` entity targets may invoke: the worker's role
   * is allowed `lambda:InvokeFunction` on these and nothing else. Empty: no Lambda target can run.
   */
  readonly lambdaTargets: readonly string[];
  /**
   * State machines (full ARNs, optionally `:<version or alias>`, no wildcards) that `stepfunctions` entity targets
   * may run: the API refuses an entity naming any other (422), and each worker may start executions of these
   * (StartExecution, StartSyncExecution), and describe and stop their executions, and nothing else.
   * @default []
   */
  readonly stateMachineTargets?: readonly string[];
  /**
   * SQS queues that `sqs` entity targets may send to: a queue URL, or `{ queueUrl, kmsKeyArn }` for a queue
   * encrypted under a customer managed KMS key (the workers may then use that key, through SQS in the queue's
   * region only). The API refuses an entity naming any other queue; each worker may SendMessage to these only.
   * @default []
   */
  readonly sqsTargets?: readonly SqsTargetSetting[];
  /**
   * Event buses (names in the stack's account and region, or ARNs) that `eventbridge` entity targets may put
   * events on: the API refuses an entity naming any other; each worker may PutEvents on these only.
   * @default []
   */
  readonly eventBusTargets?: readonly string[];
  /**
   * Networks besides public addresses that `http` entity targets may point at: `["private"]` opens 10/8,
   * 172.16/12, 192.168/16, 100.64/10 and fc00::/7 (agents inside your VPC, when the worker runs in one).
   * `loopback` is refused here: inside a Lambda function it is the function's own runtime API, never a target.
   * Link-local and cloud metadata addresses are refused whatever this says. Checked when an entity is
   * written (IP literals) and on every call, against the address a name resolves to.
   * @default [] (public addresses only)
   */
  readonly allowedTargetNetworks?: readonly TargetNetwork[];
  /**
   * SNS topics (full ARNs) that `sns` notification channels may publish to: the API (test sends) and the sweeper
   * (the outbox) may `sns:Publish` to these and nothing else. A topic under a customer managed KMS key also needs
   * that key's policy to let them use it.
   * @default [] (no sns channels)
   */
  readonly notificationTopicArns?: readonly string[];
  /**
   * The EventBridge bus every run's end and every alert event is put on (source `serverless-jobs`); the
   * functions may `events:PutEvents` to this bus alone.
   * @default 'default' (the account's default bus)
   */
  readonly eventBusName?: string;
  /**
   * Which run state changes are put on {@link eventBusName} (source `serverless-jobs`, the notification body as
   * `detail`); each is one PutEvents entry, $1.00 per million (docs/cost.md):
   * - `all`: every change: `Job Run Queued` and `Job Run Started` (each attempt), `Job Run Skipped`, and every
   *   end. The webhook and dispatch functions, which start runs, may then `events:PutEvents` too. About three
   *   events per run: +$3.00 per million runs;
   * - `ended`: every end: `Job Run Succeeded`, `Job Run Failed`, `Job Run Timed Out`, `Job Run Cancelled`;
   *   +$1.00 per million runs;
   * - `failed`: `Job Run Failed` and `Job Run Timed Out` only; +$1.00 per million failed runs.
   * Alert events (`Job Failing`, `Job Paused`, `Job Recovered`, `Job Fire Missed`, `Job Run Overdue`) go
   * whatever this says.
   *
   * The default is `failed`: a run that ends well then costs nothing on the bus, which keeps a million small runs
   * under $7, and failures, what rules most often route, still go. Choose `ended` or `all` to build on every run.
   * @default 'failed'
   */
  readonly runEvents?: RunEventSetting;
  /**
   * Timeout of each worker function, in seconds (max 900); a received run message becomes visible again 60 s after it.
   * @default 300
   */
  readonly workerTimeoutSeconds?: number;
  /**
   * Deliveries of one message before it is moved to its queue's DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Days an execution record is kept before DynamoDB's TTL deletes it.
   * @default 90
   */
  readonly executionRetentionDays?: number;
  /**
   * Minutes between two sweeps (timing out overdue runs, re-enqueuing stale queued ones).
   * @default 1
   */
  readonly sweepIntervalMinutes?: number;
  /**
   * Minutes between two reconciliations of the schedule group with the cron jobs of the table (the sweeper,
   * invoked with `{"task": "reconcile-schedules"}`): recreates schedules whose write was lost, removes those of
   * deleted jobs. Each run lists the group and reads every schedule, so it is kept well apart from the sweeps.
   * @default 15
   */
  readonly scheduleReconcileIntervalMinutes?: number;
  /**
   * Keys of the data at rest. `aws-owned`: DynamoDB's default encryption and SQS-managed encryption, under keys
   * AWS owns (nothing in the account to manage, pay for or audit), and the alarm topic under the secrets key.
   * `customer-managed`: one KMS key of the stack (alias `alias/<stack name>/data`, rotated yearly, retained or
   * deleted with the table) encrypts the table, every queue and DLQ, and the alarm topic; every use of it is in
   * CloudTrail, and disabling it makes all of them unreadable. Each role gets the KMS actions it needs on that key
   * only. KMS bills the key monthly, and its requests. Either way, secrets are sealed under their own key.
   * Switching an existing deployment updates the table and the queues in place, without replacing them.
   * @default 'aws-owned'
   */
  readonly encryption?: EncryptionMode;
  /**
   * X-Ray active tracing of every function: each is traced (`POWERTOOLS_TRACE_ENABLED=true` for the Powertools
   * tracer) and its role may send segments to X-Ray. Billed per trace recorded and retrieved.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * How callers of the control-plane routes (every route but the health check, the OpenAPI document, the
   * callback, which keeps its per-attempt token, and webhook deliveries, which stay HMAC-signed) authenticate:
   * - `api-key`: `Authorization: Bearer <key>`, checked by the API function;
   * - `iam`: SigV4-signed requests only: API Gateway's IAM authorization on each of those routes, IAM policies
   *   on their `execute-api:Invoke` ARNs deciding who may call which; API keys are refused;
   * - `both`: the API as with `api-key`, plus a second HTTP API (output `IamApiUrl`) serving the same routes
   *   with IAM authorization, both in front of the same function (an HTTP API route has one authorization
   *   type, so one path cannot take both).
   * @default 'api-key'
   */
  readonly auth?: AuthMode;
}

/** A {@link DeploymentSettings} checked by {@link resolveDeploymentSettings}, with every default filled in. */
export type ResolvedDeploymentSettings = DeploymentSettings &
  Required<
    Pick<
      DeploymentSettings,
      | 'workerTimeoutSeconds'
      | 'maxReceiveCount'
      | 'executionRetentionDays'
      | 'sweepIntervalMinutes'
      | 'scheduleReconcileIntervalMinutes'
      | 'webhookThrottleRateLimit'
      | 'webhookThrottleBurstLimit'
      | 'allowedTargetNetworks'
      | 'notificationTopicArns'
      | 'eventBusName'
      | 'runEvents'
      | 'encryption'
      | 'tracing'
      | 'auth'
      | 'stateMachineTargets'
      | 'sqsTargets'
      | 'eventBusTargets'
    >
  >;

const deployments: Record<DeploymentName, DeploymentSettings> = {
  // Not deployed: `npm start` runs the same handlers in-process (infra/local); kept so the fields it
  // may read (log level, throttling it could emulate) have one home.
  local: {
    name: 'local',
    stageName: 'local',
    logRetention: RetentionDays.ONE_DAY,
    logLevel: 'debug',
    tableRemovalPolicy: RemovalPolicy.DESTROY,
    apiThrottleRateLimit: 50,
    apiThrottleBurstLimit: 100,
    queues: [],
    environments: {},
    lambdaTargets: [],
  },
  // Used by tests that build the stack; throwaway by nature, so nothing is retained.
  test: {
    name: 'test',
    stageName: 'test',
    logRetention: RetentionDays.ONE_DAY,
    logLevel: 'debug',
    tableRemovalPolicy: RemovalPolicy.DESTROY,
    apiThrottleRateLimit: 50,
    apiThrottleBurstLimit: 100,
    queues: ['production', 'security'],
    environments: { production: { queue: 'production', variables: { STAGE: 'production' } } },
    lambdaTargets: [],
    // Short, so a test deployment's stuck runs fail fast.
    workerTimeoutSeconds: 60,
    executionRetentionDays: 7,
  },
  dev: {
    name: 'dev',
    stageName: 'dev',
    logRetention: RetentionDays.TWO_WEEKS,
    logLevel: 'debug',
    // Real deployment: jobs and execution history survive a `cdk destroy` or an accidental replacement.
    tableRemovalPolicy: RemovalPolicy.RETAIN,
    apiThrottleRateLimit: 50,
    apiThrottleBurstLimit: 100,
    queues: ['production', 'security'],
    environments: { production: { queue: 'production', variables: { STAGE: 'production' } } },
    lambdaTargets: [],
  },
  prod: {
    name: 'prod',
    stageName: 'prod',
    logRetention: RetentionDays.THREE_MONTHS,
    logLevel: 'info',
    tableRemovalPolicy: RemovalPolicy.RETAIN,
    apiThrottleRateLimit: 500,
    apiThrottleBurstLimit: 1000,
    queues: ['production', 'security'],
    environments: { production: { queue: 'production', variables: { STAGE: 'production' } } },
    lambdaTargets: [],
    executionRetentionDays: 365,
  },
};

/** Deployment used when no `env` context is given. */
export const defaultDeploymentName: DeploymentName = 'dev';

function isDeploymentName(value: string): value is DeploymentName {
  return (deploymentNames as readonly string[]).includes(value);
}

/**
 * Returns the settings of the named deployment.
 *
 * @throws Error when `name` is not one of {@link deploymentNames}.
 */
export function getDeploymentSettings(name: string): DeploymentSettings {
  if (!isDeploymentName(name)) {
    throw new Error(
      `Unknown deployment "${name}" (from CDK context "env"); expected one of: ${deploymentNames.join(', ')}. ` +
        'Example: cdk deploy -c env=dev',
    );
  }
  return deployments[name];
}

/**
 * Returns the settings chosen by the CDK context `env` (`-c env=prod`), or the `dev` deployment's if unset.
 *
 * @throws Error when the context names an unknown deployment.
 */
export function deploymentSettingsFromContext(node: Node): DeploymentSettings {
  const value: unknown = node.tryGetContext('env');
  if (value === undefined) return getDeploymentSettings(defaultDeploymentName);
  if (typeof value !== 'string') {
    throw new Error(`CDK context "env" must be a string naming a deployment, got ${JSON.stringify(value)}`);
  }
  return getDeploymentSettings(value);
}

/**
 * Checks a deployment's queues, environments, Lambda targets and run settings, and fills in the defaults
 * (`awsDefaults` and `runDefaults`, shared/config/defaults.ts). Called by the stack, so a bad deployment fails
 * `cdk synth` before anything is deployed.
 *
 * @throws Error listing every problem found, naming the deployment.
 */
export function resolveDeploymentSettings(settings: DeploymentSettings): ResolvedDeploymentSettings {
  const resolved: ResolvedDeploymentSettings = {
    ...settings,
    workerTimeoutSeconds: settings.workerTimeoutSeconds ?? awsDefaults.workerTimeoutSeconds,
    maxReceiveCount: settings.maxReceiveCount ?? runDefaults.maxReceiveCount,
    executionRetentionDays: settings.executionRetentionDays ?? runDefaults.executionRetentionDays,
    sweepIntervalMinutes: settings.sweepIntervalMinutes ?? awsDefaults.sweepIntervalMinutes,
    scheduleReconcileIntervalMinutes:
      settings.scheduleReconcileIntervalMinutes ?? awsDefaults.scheduleReconcileIntervalMinutes,
    webhookThrottleRateLimit: settings.webhookThrottleRateLimit ?? awsDefaults.webhookThrottleRateLimit,
    webhookThrottleBurstLimit: settings.webhookThrottleBurstLimit ?? awsDefaults.webhookThrottleBurstLimit,
    allowedTargetNetworks: settings.allowedTargetNetworks ?? awsDefaults.allowedTargetNetworks,
    notificationTopicArns: settings.notificationTopicArns ?? [],
    eventBusName: settings.eventBusName ?? 'default',
    runEvents: settings.runEvents ?? awsDefaults.runEvents,
    encryption: settings.encryption ?? awsDefaults.encryption,
    tracing: settings.tracing ?? awsDefaults.tracing,
    auth: settings.auth ?? awsDefaults.auth,
    stateMachineTargets: settings.stateMachineTargets ?? awsDefaults.stateMachineTargets,
    sqsTargets: settings.sqsTargets ?? awsDefaults.sqsTargets,
    eventBusTargets: settings.eventBusTargets ?? awsDefaults.eventBusTargets,
  };
  const problems: string[] = [];

  const seen = new Set<string>();
  for (const queue of resolved.queues) {
    if (!resourceNamePattern.test(queue)) {
      problems.push(`queue name ${JSON.stringify(queue)} must be 1-64 letters, digits, "-" or "_"`);
    } else if (queue === defaultQueueName) {
      problems.push(`queue "${defaultQueueName}" always exists; do not list it in queues`);
    } else if (seen.has(queue)) {
      problems.push(`queue "${queue}" is listed twice`);
    }
    seen.add(queue);
  }

  const knownQueues = [defaultQueueName, ...resolved.queues];
  for (const [name, environment] of Object.entries(resolved.environments)) {
    if (!resourceNamePattern.test(name)) {
      problems.push(`environment name ${JSON.stringify(name)} must be 1-64 letters, digits, "-" or "_"`);
    }
    if (!knownQueues.includes(environment.queue)) {
      problems.push(
        `environment "${name}" uses unknown queue ${JSON.stringify(environment.queue)}; ` +
          `expected one of: ${knownQueues.join(', ')} (declare it in queues)`,
      );
    }
  }

  for (const target of resolved.lambdaTargets) {
    if (!isLambdaTarget(target)) {
      problems.push(
        `lambdaTargets entry ${JSON.stringify(target)} must be a function name (optionally ":<alias>") or a ` +
          'full function ARN, without wildcards',
      );
    }
  }

  if (!(AUTH_MODES as readonly string[]).includes(resolved.auth)) {
    problems.push(`auth ${JSON.stringify(resolved.auth)} must be one of: ${AUTH_MODES.join(', ')}`);
  }
  problems.push(...awsTargetSettingProblems(resolved));

  const networks = new Set<string>();
  for (const network of resolved.allowedTargetNetworks) {
    if (!(TARGET_NETWORKS as readonly string[]).includes(network)) {
      problems.push(
        `allowedTargetNetworks entry ${JSON.stringify(network)} must be one of: ${TARGET_NETWORKS.join(', ')}`,
      );
    } else if (network === 'loopback') {
      problems.push(
        'allowedTargetNetworks must not include "loopback": inside a Lambda function loopback is the ' +
          "function's own runtime API, not a place a target can live",
      );
    } else if (networks.has(network)) {
      problems.push(`allowedTargetNetworks lists "${network}" twice`);
    }
    networks.add(network);
  }

  for (const topic of resolved.notificationTopicArns) {
    if (!/^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(topic)) {
      problems.push(
        `notificationTopicArns entry ${JSON.stringify(topic)} must be an SNS topic ARN, without wildcards`,
      );
    }
  }
  if (!/^[A-Za-z0-9._/-]{1,256}$/.test(resolved.eventBusName)) {
    problems.push(
      `eventBusName ${JSON.stringify(resolved.eventBusName)} must be an EventBridge bus name (not an ARN)`,
    );
  }

  if (!(RUN_EVENT_SETTINGS as readonly string[]).includes(resolved.runEvents)) {
    problems.push(
      `runEvents must be one of ${RUN_EVENT_SETTINGS.map((setting) => `"${setting}"`).join(', ')}, ` +
        `got ${JSON.stringify(resolved.runEvents)}`,
    );
  }

  const integers = [
    'workerTimeoutSeconds',
    'maxReceiveCount',
    'executionRetentionDays',
    'sweepIntervalMinutes',
    'scheduleReconcileIntervalMinutes',
  ] as const;
  problems.push(
    ...[
      ...integers.map((field) => integerProblem(field, resolved[field], limits[field])),
      rateProblem('webhookThrottleRateLimit', resolved.webhookThrottleRateLimit),
      integerProblem(
        'webhookThrottleBurstLimit',
        resolved.webhookThrottleBurstLimit,
        limits.throttleBurstLimit,
      ),
    ].filter((problem) => problem !== undefined),
  );
  // The types already say so, but settings assembled at run time (overrides, JSON) are only checked here.
  if (!(encryptionModes as readonly string[]).includes(resolved.encryption)) {
    problems.push(
      `encryption must be one of ${encryptionModes.map((mode) => `"${mode}"`).join(', ')}, ` +
        `got ${JSON.stringify(resolved.encryption)}`,
    );
  }
  if (typeof resolved.tracing !== 'boolean') {
    problems.push(`tracing must be true or false, got ${JSON.stringify(resolved.tracing)}`);
  }

  if (problems.length > 0) {
    throw new Error(`Invalid config of deployment "${settings.name}":\n- ${problems.join('\n- ')}`);
  }
  return resolved;
}

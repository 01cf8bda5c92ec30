import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { TARGET_NETWORKS, type TargetNetwork } from '../../shared/domain/target-network.js';

/** Names of the deployments this app knows; pick one with `cdk deploy -c env=<name>`. */
export const deploymentNames = ['local', 'test', 'dev', 'prod'] as const;

export type DeploymentName = (typeof deploymentNames)[number];

/** Level the handlers log at; read by the functions from `LOG_LEVEL`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Name of the worker queue every deployment has; jobs with `executor_type: "auto"` run on it. */
export const defaultQueueName = 'default';

/**
 * Queue and environment names: they become parts of construct ids and are matched by the API against
 * `worker_queue_name` / `environment_name` (same alphabet as the job schema's).
 */
export const resourceNamePattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Keys of a deployment's data at rest (the table, the queues and their DLQs, the alarm topic); see
 * {@link DeploymentConfig.encryption}.
 */
export const encryptionModes = ['aws-owned', 'customer-managed'] as const;

export type EncryptionMode = (typeof encryptionModes)[number];

/** A named execution environment: the queue its runs go to and the variables passed to the target. */
export interface EnvironmentConfig {
  /** {@link defaultQueueName} or one of {@link DeploymentConfig.queues}. */
  readonly queue: string;
  /** Passed to the target in the execution request. Not secret: they are visible in the function's environment. */
  readonly variables: Readonly<Record<string, string>>;
}

/** Settings that differ between deployments (one entry per deployment, skuba-style). */
export interface DeploymentConfig {
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
  /** Log level passed to the functions. */
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
  /** Environments jobs with `executor_type: "environment"` may name, by name. */
  readonly environments: Readonly<Record<string, EnvironmentConfig>>;
  /**
   * Lambda functions (names, or full function ARNs) that `lambda` entity targets may invoke: the worker's role
   * is allowed `lambda:InvokeFunction` on these and nothing else. Empty: no Lambda target can run.
   */
  readonly lambdaTargets: readonly string[];
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
}

/** A {@link DeploymentConfig} checked by {@link resolveDeploymentConfig}, with every default filled in. */
export type ResolvedDeploymentConfig = DeploymentConfig &
  Required<
    Pick<
      DeploymentConfig,
      | 'workerTimeoutSeconds'
      | 'maxReceiveCount'
      | 'executionRetentionDays'
      | 'sweepIntervalMinutes'
      | 'scheduleReconcileIntervalMinutes'
      | 'webhookThrottleRateLimit'
      | 'webhookThrottleBurstLimit'
      | 'allowedTargetNetworks'
      | 'encryption'
    >
  >;

/** The values of the optional {@link DeploymentConfig} fields when a deployment does not set them. */
export const runDefaults = {
  workerTimeoutSeconds: 300,
  maxReceiveCount: 5,
  executionRetentionDays: 90,
  sweepIntervalMinutes: 1,
  scheduleReconcileIntervalMinutes: 15,
} as const satisfies Partial<DeploymentConfig>;

/** The encryption of a deployment that does not set it: no key to manage, today's template. */
export const defaultEncryption: EncryptionMode = 'aws-owned';

/** The throttling of `POST /webhooks/{path}` when a deployment does not set it. */
export const webhookThrottleDefaults = {
  webhookThrottleRateLimit: 100,
  webhookThrottleBurstLimit: 200,
} as const satisfies Partial<DeploymentConfig>;

const configs: Record<DeploymentName, DeploymentConfig> = {
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
 * Returns the config of the named deployment.
 *
 * @throws Error when `name` is not one of {@link deploymentNames}.
 */
export function getDeploymentConfig(name: string): DeploymentConfig {
  if (!isDeploymentName(name)) {
    throw new Error(
      `Unknown deployment "${name}" (from CDK context "env"); expected one of: ${deploymentNames.join(', ')}. ` +
        'Example: cdk deploy -c env=dev',
    );
  }
  return configs[name];
}

/**
 * Returns the config chosen by the CDK context `env` (`-c env=prod`), or the `dev` config if unset.
 *
 * @throws Error when the context names an unknown deployment.
 */
export function deploymentConfigFromContext(node: Node): DeploymentConfig {
  const value: unknown = node.tryGetContext('env');
  if (value === undefined) return getDeploymentConfig(defaultDeploymentName);
  if (typeof value !== 'string') {
    throw new Error(`CDK context "env" must be a string naming a deployment, got ${JSON.stringify(value)}`);
  }
  return getDeploymentConfig(value);
}

// A function name, optionally qualified by a version or alias (`my-agent`, `my-agent:live`).
const lambdaNamePattern = /^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;
// A full function ARN in any partition, optionally qualified; never a wildcard.
const lambdaArnPattern =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;

function checkInteger(problems: string[], field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/**
 * Checks a deployment's queues, environments, Lambda targets and run settings, and fills in the defaults
 * ({@link runDefaults}). Called by the stack, so a bad config fails `cdk synth` before anything is deployed.
 *
 * @throws Error listing every problem found, naming the deployment.
 */
export function resolveDeploymentConfig(config: DeploymentConfig): ResolvedDeploymentConfig {
  const resolved: ResolvedDeploymentConfig = {
    ...config,
    workerTimeoutSeconds: config.workerTimeoutSeconds ?? runDefaults.workerTimeoutSeconds,
    maxReceiveCount: config.maxReceiveCount ?? runDefaults.maxReceiveCount,
    executionRetentionDays: config.executionRetentionDays ?? runDefaults.executionRetentionDays,
    sweepIntervalMinutes: config.sweepIntervalMinutes ?? runDefaults.sweepIntervalMinutes,
    scheduleReconcileIntervalMinutes:
      config.scheduleReconcileIntervalMinutes ?? runDefaults.scheduleReconcileIntervalMinutes,
    webhookThrottleRateLimit:
      config.webhookThrottleRateLimit ?? webhookThrottleDefaults.webhookThrottleRateLimit,
    webhookThrottleBurstLimit:
      config.webhookThrottleBurstLimit ?? webhookThrottleDefaults.webhookThrottleBurstLimit,
    allowedTargetNetworks: config.allowedTargetNetworks ?? [],
    encryption: config.encryption ?? defaultEncryption,
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
    if (!lambdaNamePattern.test(target) && !lambdaArnPattern.test(target)) {
      problems.push(
        `lambdaTargets entry ${JSON.stringify(target)} must be a function name (optionally ":<alias>") or a ` +
          'full function ARN, without wildcards',
      );
    }
  }

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

  // Lambda's maximum timeout (the queues' visibility timeout is a minute more, well under SQS's 12 hours).
  checkInteger(problems, 'workerTimeoutSeconds', resolved.workerTimeoutSeconds, 1, 900);
  // SQS accepts 1-1000.
  checkInteger(problems, 'maxReceiveCount', resolved.maxReceiveCount, 1, 1000);
  checkInteger(problems, 'executionRetentionDays', resolved.executionRetentionDays, 1, 3650);
  checkInteger(problems, 'sweepIntervalMinutes', resolved.sweepIntervalMinutes, 1, 60);
  // At least once a day: a lost schedule write must not leave a cron job silent for longer.
  checkInteger(
    problems,
    'scheduleReconcileIntervalMinutes',
    resolved.scheduleReconcileIntervalMinutes,
    1,
    1440,
  );
  // API Gateway takes a rate (a double) and a burst (an integer); 0 would shut the route. 10,000 requests per
  // second is the default account-level quota: a route limit above it has no effect.
  const rate = resolved.webhookThrottleRateLimit;
  if (!Number.isFinite(rate) || rate <= 0 || rate > 10_000) {
    problems.push(`webhookThrottleRateLimit must be a number above 0 and at most 10000, got ${rate}`);
  }
  checkInteger(problems, 'webhookThrottleBurstLimit', resolved.webhookThrottleBurstLimit, 1, 5000);
  // The type already says so, but a config assembled at run time (overrides, JSON) is only checked here.
  if (!(encryptionModes as readonly string[]).includes(resolved.encryption)) {
    problems.push(
      `encryption must be one of ${encryptionModes.map((mode) => `"${mode}"`).join(', ')}, ` +
        `got ${JSON.stringify(resolved.encryption)}`,
    );
  }

  if (problems.length > 0) {
    throw new Error(`Invalid config of deployment "${config.name}":\n- ${problems.join('\n- ')}`);
  }
  return resolved;
}

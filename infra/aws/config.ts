import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';

/** Names of the deployments this app knows; pick one with `cdk deploy -c env=<name>`. */
export const deploymentNames = ['local', 'test', 'dev', 'prod'] as const;

export type DeploymentName = (typeof deploymentNames)[number];

/** Level the handlers log at; read by the functions from `LOG_LEVEL`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

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
}

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
  },
  prod: {
    name: 'prod',
    stageName: 'prod',
    logRetention: RetentionDays.THREE_MONTHS,
    logLevel: 'info',
    tableRemovalPolicy: RemovalPolicy.RETAIN,
    apiThrottleRateLimit: 500,
    apiThrottleBurstLimit: 1000,
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

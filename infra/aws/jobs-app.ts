import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  type DeploymentConfig,
  deploymentConfigFromContext,
  type ResolvedDeploymentConfig,
} from './config.js';
import { JobsStack } from './stack.js';

/** What {@link createJobsApp} built. */
export interface JobsApp {
  readonly app: App;
  /** The config the stack was built with, defaults filled in. */
  readonly config: ResolvedDeploymentConfig;
  readonly stack: JobsStack;
}

/**
 * Builds the CDK app: the `ServerlessJobs-<env>` stack for the deployment named by the `env` context
 * (default `dev`), checked by cdk-nag's AWS Solutions rules at synthesis.
 *
 * @param configOverrides replace fields of the chosen deployment's config (tests use it to try other queues,
 *   environments or Lambda targets without adding a deployment).
 * @throws Error when the `env` context names an unknown deployment, or the config is invalid.
 */
export function createJobsApp(props?: AppProps, configOverrides?: Partial<DeploymentConfig>): JobsApp {
  const app = new App(props);
  const config: DeploymentConfig = { ...deploymentConfigFromContext(app.node), ...configOverrides };
  const stack = new JobsStack(app, `ServerlessJobs-${config.name}`, {
    config,
    // Unset when no AWS credentials are configured: the stack then synthesizes environment-agnostic.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // cdk-nag 3 runs as a CDK validation plugin: any unacknowledged finding fails `cdk synth`. Acknowledgements
  // are also written to the template metadata (`cdk_nag.rules_to_suppress`) as an audit trail.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return { app, config: stack.config, stack };
}

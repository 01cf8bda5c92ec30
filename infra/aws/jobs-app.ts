import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type DeploymentConfig, deploymentConfigFromContext } from './config.js';
import { JobsStack } from './stack.js';

/** What {@link createJobsApp} built. */
export interface JobsApp {
  readonly app: App;
  readonly config: DeploymentConfig;
  readonly stack: JobsStack;
}

/**
 * Builds the CDK app: the `ServerlessJobs-<env>` stack for the deployment named by the `env` context
 * (default `dev`), checked by cdk-nag's AWS Solutions rules at synthesis.
 *
 * @throws Error when the `env` context names an unknown deployment.
 */
export function createJobsApp(props?: AppProps): JobsApp {
  const app = new App(props);
  const config = deploymentConfigFromContext(app.node);
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
  return { app, config, stack };
}

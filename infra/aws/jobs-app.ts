import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  type DeploymentSettings,
  deploymentSettingsFromContext,
  type ResolvedDeploymentSettings,
} from './config.js';
import { JobsStack } from './stack.js';

/** What {@link createJobsApp} built. */
export interface JobsApp {
  readonly app: App;
  /** The settings the stack was built with, defaults filled in. */
  readonly settings: ResolvedDeploymentSettings;
  readonly stack: JobsStack;
}

/**
 * Builds the CDK app: the `ServerlessJobs-<env>` stack for the deployment named by the `env` context
 * (default `dev`), checked by cdk-nag's AWS Solutions rules at synthesis.
 *
 * @param overrides replace fields of the chosen deployment's settings (tests use it to try other queues,
 *   environments or Lambda targets without adding a deployment).
 * @throws Error when the `env` context names an unknown deployment, or the settings are invalid.
 */
export function createJobsApp(props?: AppProps, overrides?: Partial<DeploymentSettings>): JobsApp {
  const app = new App(props);
  const settings: DeploymentSettings = { ...deploymentSettingsFromContext(app.node), ...overrides };
  const stack = new JobsStack(app, `ServerlessJobs-${settings.name}`, {
    settings,
    // Unset when no AWS credentials are configured: the stack then synthesizes environment-agnostic.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // cdk-nag 3 runs as a CDK validation plugin: any unacknowledged finding fails `cdk synth`. Acknowledgements
  // are also written to the template metadata (`cdk_nag.rules_to_suppress`) as an audit trail.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return { app, settings: stack.settings, stack };
}

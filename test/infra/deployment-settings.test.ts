import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeploymentSettings,
  deploymentNames,
  deploymentSettingsFromContext,
  getDeploymentSettings,
  resolveDeploymentSettings,
} from '../../infra/aws/config.js';
import { buildApp, removeOutdirs } from './support.js';

afterAll(removeOutdirs);

describe('run settings of the deployment config', () => {
  const dev = getDeploymentSettings('dev');

  it('fills in the defaults', () => {
    // Act
    const resolved = resolveDeploymentSettings(dev);

    // Assess
    expect(resolved).toMatchObject({
      workerTimeoutSeconds: 300,
      maxReceiveCount: 5,
      executionRetentionDays: 90,
      sweepIntervalMinutes: 1,
      scheduleReconcileIntervalMinutes: 15,
      queues: ['production', 'security'],
      environments: { production: { queue: 'production', variables: { STAGE: 'production' } } },
      lambdaTargets: [],
    });
  });

  it.each(deploymentNames)('accepts the %s deployment as written', (name) => {
    // Act
    const resolve = () => resolveDeploymentSettings(getDeploymentSettings(name));

    // Assess
    expect(resolve).not.toThrow();
  });

  it('fails synthesis, naming the queue, when an environment uses an undeclared queue', () => {
    // Act
    const build = () => buildApp('dev', { environments: { staging: { queue: 'staging', variables: {} } } });

    // Assess
    expect(build).toThrow(
      'environment "staging" uses unknown queue "staging"; expected one of: default, production, security',
    );
  });

  it('accepts an environment on the default queue', () => {
    // Act
    const build = () => buildApp('dev', { environments: { sandbox: { queue: 'default', variables: {} } } });

    // Assess
    expect(build).not.toThrow();
  });

  it.each([
    [{ queues: ['has space'] }, 'queue name "has space" must be 1-64 letters, digits, "-" or "_"'],
    [{ queues: ['x'.repeat(65)] }, 'must be 1-64 letters'],
    [{ queues: ['default'] }, 'queue "default" always exists'],
    [{ queues: ['a', 'a'] }, 'queue "a" is listed twice'],
    [
      { environments: { 'prod/eu': { queue: 'default', variables: {} } } },
      'environment name "prod/eu" must be 1-64 letters',
    ],
    [{ lambdaTargets: ['*'] }, 'lambdaTargets entry "*" must be a function name'],
    [{ lambdaTargets: ['arn:aws:lambda:eu-west-1:123456789012:function:*'] }, 'without wildcards'],
    [{ workerTimeoutSeconds: 901 }, 'workerTimeoutSeconds must be an integer from 1 to 900, got 901'],
    [{ maxReceiveCount: 0 }, 'maxReceiveCount must be an integer from 1 to 1000, got 0'],
    [{ executionRetentionDays: 1.5 }, 'executionRetentionDays must be an integer'],
    [{ sweepIntervalMinutes: 0 }, 'sweepIntervalMinutes must be an integer'],
    [
      { scheduleReconcileIntervalMinutes: 0 },
      'scheduleReconcileIntervalMinutes must be an integer from 1 to 1440, got 0',
    ],
    [{ scheduleReconcileIntervalMinutes: 1441 }, 'scheduleReconcileIntervalMinutes must be an integer'],
    [{ scheduleReconcileIntervalMinutes: 7.5 }, 'scheduleReconcileIntervalMinutes must be an integer'],
  ] satisfies [Partial<DeploymentSettings>, string][])('rejects %j', (overrides, message) => {
    // Act
    const build = () => buildApp('dev', overrides);

    // Assess
    expect(build).toThrow('Invalid config of deployment "dev"');
    expect(build).toThrow(message);
  });

  it('lists every problem at once', () => {
    // Act
    const resolve = () =>
      resolveDeploymentSettings({ ...dev, queues: ['bad name'], maxReceiveCount: 0, lambdaTargets: ['*'] });

    // Assess
    expect(resolve).toThrow(/bad name[\s\S]*lambdaTargets[\s\S]*maxReceiveCount/);
  });
});

describe('deployment config', () => {
  it('uses dev when no env context is given', () => {
    // Act
    const { settings, stack } = buildApp();

    // Assess
    expect(settings.name).toBe('dev');
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
    const read = () => deploymentSettingsFromContext(app.node);

    // Assess
    expect(read).toThrow('CDK context "env" must be a string');
  });

  it.each(deploymentNames)('has a complete, sane entry for %s', (name) => {
    // Act
    const settings = getDeploymentSettings(name);

    // Assess
    expect(settings.name).toBe(name);
    expect(settings.stageName).not.toBe('');
    expect(settings.apiThrottleRateLimit).toBeGreaterThan(0);
    expect(settings.apiThrottleBurstLimit).toBeGreaterThanOrEqual(settings.apiThrottleRateLimit);
    expect(settings.logRetention).toBeGreaterThan(0);
  });
});

describe('tracing setting', () => {
  it('defaults to off, and every named deployment keeps the default', () => {
    // Act
    const resolved = deploymentNames.map((name) => resolveDeploymentSettings(getDeploymentSettings(name)));

    // Assess: X-Ray is billed per trace; a deployment opts in.
    expect(resolved.map((settings) => settings.tracing)).toEqual(deploymentNames.map(() => false));
  });

  it('fails synthesis, naming the field, for a value that is not a boolean', () => {
    // Act
    const build = () => buildApp('dev', { tracing: 'yes' as unknown as boolean });

    // Assess
    expect(build).toThrow('tracing must be true or false, got "yes"');
  });
});

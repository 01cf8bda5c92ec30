import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { deploymentConfigOf } from '../../functions/aws-deps.js';
import {
  type DeploymentSettings,
  getDeploymentSettings,
  resolveDeploymentSettings,
} from '../../infra/aws/config.js';
import { variables } from '../../shared/config/environment.js';
import type { TargetNetwork } from '../../shared/domain/target-network.js';
import { buildApp, logicalIdOf, removeOutdirs, variablesOf, workerFunctionsOf } from './support.js';

afterAll(removeOutdirs);

/** DEPLOYMENT_CONFIG as a function reads it (functions/aws-deps.ts), through the environment contract. */
const readDeployment = (text: string) => deploymentConfigOf(variables.deployment.decode(text));

/** The environment of the API function and of every worker function of a synthesized app. */
function environments(overrides?: Partial<DeploymentSettings>) {
  const { stack } = buildApp('dev', overrides);
  const template = Template.fromStack(stack);
  const env = (fn: Parameters<typeof logicalIdOf>[1]) =>
    variablesOf(template, logicalIdOf(stack, fn)) as Record<string, unknown>;
  return {
    api: env(stack.controlPlane.apiFunction),
    workers: [...workerFunctionsOf(stack).values()].map(env),
  };
}

describe('allowedTargetNetworks', () => {
  it('defaults to none: the API and every worker are told public addresses only', () => {
    // Act
    const { api, workers } = environments();

    // Assess
    expect(resolveDeploymentSettings(getDeploymentSettings('dev')).allowedTargetNetworks).toEqual([]);
    for (const variables of [api, ...workers]) {
      expect(JSON.parse(variables.DEPLOYMENT_CONFIG as string).allowedTargetNetworks).toEqual([]);
    }
    expect(workers).toHaveLength(3);
  });

  const opened = environments({ allowedTargetNetworks: ['private'] });

  it('reaches the API (which checks entities) and every worker (which checks connections) as written', () => {
    // Act
    const { api, workers } = opened;

    // Assess
    for (const variables of [api, ...workers]) {
      expect(JSON.parse(variables.DEPLOYMENT_CONFIG as string).allowedTargetNetworks).toEqual(['private']);
    }
  });

  it('is read back by the functions exactly as the stack writes it', () => {
    // Prepare
    const { api, workers } = opened;
    const [worker] = workers;

    // Act
    const fromApi = readDeployment(api.DEPLOYMENT_CONFIG as string);
    const fromWorker = readDeployment(worker?.DEPLOYMENT_CONFIG as string);

    // Assess
    const expected = {
      defaultQueue: 'default',
      queues: ['production', 'security'],
      environments: { production: { queue: 'production', variables: { STAGE: 'production' } } },
      allowedTargetNetworks: ['private'],
      notificationTopicArns: [],
      eventBusName: 'default',
      awsTargets: { stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] },
      open: false,
      publicBaseUrl: '',
    };
    expect(fromApi).toEqual(expected);
    expect(fromWorker).toEqual(expected);
  });

  it('is required by the reader: a DEPLOYMENT_CONFIG without it is not one this stack wrote', () => {
    // Prepare
    const written = { defaultQueue: 'default', queues: [], environments: {} };

    // Act
    const read = () => readDeployment(JSON.stringify(written));

    // Assess
    expect(read).toThrow(/allowedTargetNetworks/);
  });

  it.each([
    [
      ['loopback'],
      'must not include "loopback": inside a Lambda function loopback is the function\'s own runtime API',
    ],
    [['private', 'private'], 'allowedTargetNetworks lists "private" twice'],
    [['link-local'], 'allowedTargetNetworks entry "link-local" must be one of: loopback, private'],
  ] as [string[], string][])('fails synthesis for %j', (networks, message) => {
    // Act
    const build = () => buildApp('dev', { allowedTargetNetworks: networks as TargetNetwork[] });

    // Assess
    expect(build).toThrow('Invalid config of deployment "dev"');
    expect(build).toThrow(message);
  });
});

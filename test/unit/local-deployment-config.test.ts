import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LocalDeploymentConfigError,
  loadLocalDeploymentConfig,
} from '../../infra/local/deployment-config.js';

const publicBaseUrl = 'http://127.0.0.1:3000';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobs-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(content: unknown, name = 'jobs.config.json'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function loadError(options: Parameters<typeof loadLocalDeploymentConfig>[0]) {
  const error = await loadLocalDeploymentConfig(options).catch((caught: unknown) => caught);
  if (!(error instanceof LocalDeploymentConfigError)) {
    throw new Error(`expected a LocalDeploymentConfigError, got ${String(error)}`);
  }
  return error;
}

describe('loadLocalDeploymentConfig', () => {
  it('is open, with only the default queue, when there is no config file', async () => {
    // Prepare
    const options = { publicBaseUrl, cwd: dir, env: {} };

    // Act
    const config = await loadLocalDeploymentConfig(options);

    // Assess
    expect(config).toEqual({
      defaultQueue: 'default',
      queues: [],
      environments: {},
      open: true,
      publicBaseUrl,
      // Agents under development listen on this machine.
      allowedTargetNetworks: ['loopback'],
    });
  });

  it('reads <cwd>/jobs.config.json and closes the config to what it declares', async () => {
    // Prepare
    await writeConfig({
      queues: ['production', 'default'],
      environments: {
        production: { queue: 'production', variables: { STAGE: 'prod' } },
        sandbox: {},
      },
    });

    // Act
    const config = await loadLocalDeploymentConfig({ publicBaseUrl, cwd: dir, env: {} });

    // Assess
    expect(config).toEqual({
      defaultQueue: 'default',
      queues: ['production'],
      environments: {
        production: { queue: 'production', variables: { STAGE: 'prod' } },
        sandbox: { queue: 'default', variables: {} },
      },
      open: false,
      publicBaseUrl,
      allowedTargetNetworks: ['loopback'],
      // A file closes the AWS targets too: entities may name only what it lists.
      awsTargets: { stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] },
    });
  });

  it('takes the state machines, queues and event buses AWS targets may name from the file', async () => {
    // Prepare
    const lists = {
      stateMachineTargets: ['arn:aws:states:eu-west-1:123456789012:stateMachine:orders'],
      sqsTargets: ['https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo'],
      eventBusTargets: ['default', 'arn:aws:events:eu-west-1:123456789012:event-bus/orders'],
    };
    await writeConfig(lists);

    // Act
    const config = await loadLocalDeploymentConfig({ publicBaseUrl, cwd: dir, env: {} });

    // Assess
    expect(config.awsTargets).toEqual(lists);
  });

  it.each([
    [[], []],
    [['private'], ['private']],
    [
      ['loopback', 'private'],
      ['loopback', 'private'],
    ],
  ])('takes allowedTargetNetworks %j from the file', async (networks, expected) => {
    // Prepare
    await writeConfig({ allowedTargetNetworks: networks });

    // Act
    const config = await loadLocalDeploymentConfig({ publicBaseUrl, cwd: dir, env: {} });

    // Assess
    expect(config.allowedTargetNetworks).toEqual(expected);
  });

  it('takes the file from JOBS_CONFIG, and the path option over it', async () => {
    // Prepare
    await writeConfig({ queues: ['from-env'] }, 'env.json');
    const optionPath = await writeConfig({ queues: ['from-option'] }, 'option.json');

    // Act
    const fromEnv = await loadLocalDeploymentConfig({
      publicBaseUrl,
      cwd: dir,
      env: { JOBS_CONFIG: 'env.json' },
    });
    const fromOption = await loadLocalDeploymentConfig({
      publicBaseUrl,
      cwd: dir,
      env: { JOBS_CONFIG: 'env.json' },
      path: optionPath,
    });

    // Assess
    expect(fromEnv.queues).toEqual(['from-env']);
    expect(fromOption.queues).toEqual(['from-option']);
  });

  it.each([
    [{ queues: ['has space'] }, 'queues[0]'],
    [
      { queues: ['ok'], environments: { prod: { queue: 'ok', variables: { STAGE: 1 } } } },
      'environments.prod.variables.STAGE',
    ],
    [{ environments: { 'bad name!': { queue: 'default' } } }, 'environments.bad name!'],
    [{ queues: ['a', 'a'] }, 'queues[1]'],
    [{ queue: ['typo'] }, 'queue'],
    [{ queues: ['x'.repeat(65)] }, 'queues[0]'],
    [{ allowedTargetNetworks: ['link-local'] }, 'allowedTargetNetworks[0]'],
    [{ allowedTargetNetworks: ['loopback', 'loopback'] }, 'allowedTargetNetworks'],
    [{ allowedTargetNetworks: 'loopback' }, 'allowedTargetNetworks'],
    [
      { stateMachineTargets: ['arn:aws:states:eu-west-1:123456789012:stateMachine:*'] },
      'stateMachineTargets[0]',
    ],
    [{ sqsTargets: ['https://example.com/queue'] }, 'sqsTargets[0]'],
    [{ eventBusTargets: ['bus', 'bus'] }, 'eventBusTargets'],
  ])('rejects an invalid field, naming the file and the field path (%j)', async (content, fieldPath) => {
    // Prepare
    const file = await writeConfig(content);

    // Act
    const error = await loadError({ publicBaseUrl, cwd: dir, env: {} });

    // Assess
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    expect(error.details.map((detail) => detail.path)).toContain(fieldPath);
    expect(error.message).toContain(fieldPath);
  });

  it("rejects an environment whose queue is neither 'default' nor declared", async () => {
    // Prepare
    await writeConfig({ queues: ['production'], environments: { staging: { queue: 'staging' } } });

    // Act
    const error = await loadError({ publicBaseUrl, cwd: dir, env: {} });

    // Assess
    expect(error.details).toEqual([
      expect.objectContaining({
        path: 'environments.staging.queue',
        message: expect.stringContaining('"staging" is not'),
      }),
    ]);
  });

  it('rejects a file that is not JSON, naming it', async () => {
    // Prepare
    const file = await writeConfig('{ "queues": [');

    // Act
    const error = await loadError({ publicBaseUrl, cwd: dir, env: {} });

    // Assess
    expect(error.message).toContain(`${file} is not valid JSON`);
  });

  it.each([
    ['the path option', { path: 'missing.json' }, {}],
    ['JOBS_CONFIG', {}, { JOBS_CONFIG: 'missing.json' }],
  ])('fails when the file named by %s does not exist', async (_source, option, env) => {
    // Prepare
    const options = { publicBaseUrl, cwd: dir, env, ...option };

    // Act
    const error = await loadError(options);

    // Assess
    expect(error.file).toBe(join(dir, 'missing.json'));
    expect(error.message).toContain('does not exist');
  });
});

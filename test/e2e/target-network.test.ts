import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ControlPlaneClient, type EntityTarget, JobError } from '../../sdk/index.js';
import { startAgentServer } from '../support/agent-server.js';
import { startTestRuntime, type TestRuntime, waitForExecution } from '../support/local-runtime.js';

/**
 * The local runtime with a config file closing loopback (`"allowedTargetNetworks": []`), as an AWS
 * deployment is: agents on this machine stand in for internal services a target must not reach. The file
 * also lists one state machine, queue and event bus, and the runtime has no AWS access.
 */
let runtime: TestRuntime;
let client: ControlPlaneClient;
let configDir: string;

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:orders';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo';

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'jobs-e2e-config-'));
  const configPath = join(configDir, 'jobs.config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      allowedTargetNetworks: [],
      stateMachineTargets: [STATE_MACHINE],
      sqsTargets: [QUEUE],
      eventBusTargets: ['orders'],
    }),
  );
  runtime = await startTestRuntime({ configPath });
  client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
});

afterAll(async () => {
  await runtime?.cleanup();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

async function createError(url: string): Promise<JobError> {
  const error = await client.entities
    .create({ type: 'agent', name: 'Internal', target: { type: 'http', url } })
    .then(
      () => null,
      (caught: unknown) => caught,
    );
  if (!(error instanceof JobError)) throw new Error(`expected a JobError, got ${String(error)}`);
  return error;
}

describe('a deployment closed to loopback', () => {
  it('reports what its config file says', () => {
    // Assess
    expect(runtime.allowedTargetNetworks).toEqual([]);
  });

  it('refuses entities at metadata and loopback addresses with a 422 naming target.url', async () => {
    // Act
    const metadata = await createError('http://169.254.169.254/latest/meta-data/');
    const loopback = await createError('http://2130706433:8080/run');

    // Assess
    expect(metadata.status).toBe(422);
    expect(metadata.details).toEqual([
      {
        path: 'target.url',
        message: 'points at 169.254.169.254, a cloud metadata address, which http targets may never reach',
        code: 'target_address_not_allowed',
      },
    ]);
    expect(loopback.status).toBe(422);
    expect(loopback.details).toEqual([
      {
        path: 'target.url',
        message:
          'points at 127.0.0.1, a loopback address, which this deployment does not allow (its allowedTargetNetworks setting does not include "loopback")',
        code: 'target_address_not_allowed',
      },
    ]);
  });

  it('fails a run whose target name resolves to loopback, at once, with nothing of its answer', async () => {
    // Prepare: an internal service that would hand out secrets; the entity names it by a name, which
    // the API cannot judge, so only the worker's check at connection time stands in the way.
    const internal = await startAgentServer();
    onTestFinished(() => internal.close());
    internal.script({ kind: 'json', body: { AccessKeyId: 'ASIA-internal-credentials' } });
    const entity = await client.entities.create({
      type: 'agent',
      name: 'Named internal',
      target: { type: 'http', url: internal.url.replace('127.0.0.1', 'localhost') },
    });
    const job = await client.jobs.create({
      name: 'Probe',
      trigger_type: 'manual',
      entity_type: 'agent',
      entity_id: entity.id,
      prompt_template: 'Probe',
      // Retries allowed: a refusal must not use them.
      config: { retry: { max_attempts: 3, backoff_seconds: 1 } },
    });

    // Act
    const run = await client.jobs.trigger(job.id);
    const finished = await waitForExecution(client, job.id, run.execution_id);

    // Assess
    expect(finished).toMatchObject({ status: 'failed', attempt: 1, output: null, output_truncated: false });
    expect(finished.error_message).toMatch(
      /^Refused to call the target: localhost resolved to (127\.0\.0\.1|::1), a loopback address, which this deployment does not allow \(its allowedTargetNetworks setting does not include "loopback"\)\.$/,
    );
    expect(JSON.stringify(finished)).not.toContain('ASIA-internal-credentials');
    expect(internal.requests).toHaveLength(0);
  });
});

describe('AWS targets in a runtime without AWS access', () => {
  const awsTargets: [string, EntityTarget][] = [
    ['lambda', { type: 'lambda', function_name: 'orders-fn', invocation: 'event' }],
    ['stepfunctions', { type: 'stepfunctions', state_machine_arn: STATE_MACHINE }],
    ['sqs', { type: 'sqs', queue_url: QUEUE, message_group_id: 'orders' }],
    ['eventbridge', { type: 'eventbridge', event_bus_name: 'orders', source: 'com.example.jobs' }],
  ];

  it.each(awsTargets)(
    'stores a %s target the config lists, and fails its run at once saying it needs AWS credentials and a region',
    async (type, target) => {
      // Prepare
      const entity = await client.entities.create({ type: 'workflow', name: `AWS ${type}`, target });
      const job = await client.jobs.create({
        name: `Run ${type}`,
        trigger_type: 'manual',
        entity_type: 'workflow',
        entity_id: entity.id,
        prompt_template: 'Ship the orders',
        // Retries allowed: nothing changes until the runtime restarts with AWS access, so none is made.
        config: { retry: { max_attempts: 3, backoff_seconds: 1 } },
      });

      // Act
      const run = await client.jobs.trigger(job.id);
      const finished = await waitForExecution(client, job.id, run.execution_id);

      // Assess
      expect((await client.entities.get(entity.id)).target).toEqual(target);
      expect(finished).toMatchObject({ status: 'failed', attempt: 1, output: null });
      expect(finished.error_message).toMatch(
        new RegExp(
          `^The ${type} target needs AWS: this runtime has no AWS credentials and region to call .+ with\\. ` +
            'Start it with AWS_REGION and credentials \\(AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\\)',
        ),
      );
      expect(finished).not.toHaveProperty('target_execution_arn');
    },
  );

  it('refuses a state machine the config file does not list, naming the setting to extend', async () => {
    // Act
    const error = await client.entities
      .create({
        type: 'workflow',
        name: 'Unlisted',
        target: { type: 'stepfunctions', state_machine_arn: `${STATE_MACHINE}-other` },
      })
      .then(
        () => null,
        (caught: unknown) => caught,
      );

    // Assess
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).status).toBe(422);
    expect((error as JobError).details).toEqual([
      {
        path: 'target.state_machine_arn',
        message:
          "is not in this deployment's stateMachineTargets: add it to stateMachineTargets (infra/aws/config.ts, " +
          'or jobs.config.json locally) and deploy, so that the workers may reach it',
        code: 'target_not_allowed',
      },
    ]);
  });
});

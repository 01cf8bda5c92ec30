import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ControlPlaneClient, JobError } from '../../sdk/index.js';
import { startAgentServer } from '../support/agent-server.js';
import { startTestRuntime, type TestRuntime, waitForExecution } from '../support/local-runtime.js';

/**
 * The local runtime with a config file closing loopback (`"allowedTargetNetworks": []`), as an AWS
 * deployment is: agents on this machine stand in for internal services a target must not reach.
 */
let runtime: TestRuntime;
let client: ControlPlaneClient;
let configDir: string;

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'jobs-e2e-config-'));
  const configPath = join(configDir, 'jobs.config.json');
  await writeFile(configPath, JSON.stringify({ allowedTargetNetworks: [] }));
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneClient } from '../../sdk/index.js';
import { startRuntimeWithClient, type TestRuntime, waitForExecution } from '../support/local-runtime.js';

let runtime: TestRuntime;
let client: ControlPlaneClient;

beforeAll(async () => {
  ({ runtime, client } = await startRuntimeWithClient());
});

afterAll(async () => {
  await runtime?.cleanup();
});

describe('manual trigger with an Idempotency-Key', () => {
  it('returns the first execution for a repeated key, concurrent repeats included, and counts one run', async () => {
    // Prepare
    const job = await client.jobs.create({
      name: 'idempotent',
      trigger_type: 'manual',
      prompt_template: 'Run {{ n }}',
    });

    // Act
    const first = await client.jobs.trigger(job.id, { parameters: { n: 1 }, idempotency_key: 'deploy-42' });
    const repeats = await Promise.all(
      [1, 2, 3].map(() =>
        client.jobs.trigger(job.id, { parameters: { n: 1 }, idempotency_key: 'deploy-42' }),
      ),
    );
    const other = await client.jobs.trigger(job.id, { parameters: { n: 2 }, idempotency_key: 'deploy-43' });
    await waitForExecution(client, job.id, first.execution_id);
    await waitForExecution(client, job.id, other.execution_id);
    const history = await client.jobs.getExecutions(job.id);

    // Assess
    for (const repeat of repeats) expect(repeat.execution_id).toBe(first.execution_id);
    expect(other.execution_id).not.toBe(first.execution_id);
    expect(history.total_count).toBe(2);
    expect(history.executions.map((execution) => execution.execution_id).sort()).toEqual(
      [first.execution_id, other.execution_id].sort(),
    );
    expect(history.executions.find((e) => e.execution_id === first.execution_id)?.dedupe_key).toBe(
      'manual:deploy-42',
    );
  });

  it('rejects a key that is not visible ASCII, naming the header', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'bad key', trigger_type: 'manual', prompt_template: 'p' });

    // Act
    const response = await fetch(`${runtime.url}/jobs/${job.id}/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runtime.apiKey}`, 'idempotency-key': 'has space' },
    });

    // Assess
    expect(response.status).toBe(422);
    expect(
      ((await response.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path,
    ).toBe('Idempotency-Key');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlaneClient, JobError } from '../../sdk/index.js';
import { startRuntimeWithClient, type TestRuntime } from '../support/local-runtime.js';

let runtime: TestRuntime;
let client: ControlPlaneClient;

beforeAll(async () => {
  ({ runtime, client } = await startRuntimeWithClient());
});

afterAll(async () => {
  await runtime?.cleanup();
});

describe('cron previews and schedule details', () => {
  it('previews every cron example of the reference with its EventBridge expression', async () => {
    // Prepare
    const examples: [string, string][] = [
      ['0 9 * * *', 'cron(0 9 * * ? *)'],
      ['0 * * * *', 'cron(0 * * * ? *)'],
      ['*/15 * * * *', 'cron(0/15 * * * ? *)'],
      ['0 8 * * 1', 'cron(0 8 ? * 2 *)'],
      ['0 0 1 * *', 'cron(0 0 1 * ? *)'],
      ['0 17 * * 1-5', 'cron(0 17 ? * 2-6 *)'],
      ['0 2 * * 0', 'cron(0 2 ? * 1 *)'],
      // The jobs of the reference's code examples.
      ['0 0 * * 0', 'cron(0 0 ? * 1 *)'],
      ['0 2 * * *', 'cron(0 2 * * ? *)'],
      ['0 10 * * *', 'cron(0 10 * * ? *)'],
    ];

    // Act
    const previews = await Promise.all(
      examples.map(([expression]) => client.jobs.previewSchedule(expression, 'America/New_York', 5)),
    );

    // Assess
    for (const [index, preview] of previews.entries()) {
      expect(preview.schedule_expression).toEqual([examples[index]?.[1]]);
      expect(preview.fires).toHaveLength(5);
      const instants = preview.fires.map((fire) => Date.parse(fire.utc));
      expect(instants).toEqual([...instants].sort((a, b) => a - b));
      expect(instants[0]).toBeGreaterThan(Date.now() - 1000);
    }
  });

  it('names bad input by field', async () => {
    // Act
    const error = await client.jobs
      .previewSchedule('61 * * * *', 'Mars/Olympus', 500)
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).status).toBe(422);
    expect((error as JobError).details.map((detail) => detail.path).sort()).toEqual([
      'count',
      'expression',
      'timezone',
    ]);
  });

  it('shows next_run_at and schedule_expression on cron jobs, and refuses what EventBridge cannot express', async () => {
    // Prepare
    const body = {
      name: 'split',
      trigger_type: 'cron' as const,
      prompt_template: 'p',
      cron_schedule: '30 4 1,15 * 5',
    };

    // Act
    const job = await client.jobs.create(body);
    const disabled = await client.jobs.disable(job.id);
    const refused = await client.jobs
      .create({ ...body, cron_schedule: '0 9 */10 * MON' })
      .catch((e: unknown) => e as JobError);

    // Assess
    expect(job.schedule_expression).toEqual(['cron(30 4 1,15 * ? *)', 'cron(30 4 ? * 6 *)']);
    expect(Date.parse(job.next_run_at ?? '')).toBeGreaterThan(Date.now());
    expect(disabled.next_run_at).toBeNull();
    expect(refused).toMatchObject({
      status: 422,
      details: [{ path: 'cron_schedule', code: 'untranslatable_cron' }],
    });
  });
});

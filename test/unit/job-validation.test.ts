import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/domain/errors.js';
import {
  applyJobPatch as applyParsedPatch,
  buildJobSpec as buildParsedSpec,
  isIanaTimezone,
  JobCreateSchema,
  JobPatchSchema,
  type JobSpec,
  MAX_JOB_DOCUMENT_BYTES,
} from '../../shared/domain/job.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { httpStatusOf } from '../../shared/http/errors-to-http.js';
import { parseQuery } from '../../shared/http/query.js';
import { API_ROUTES } from '../../shared/http/routes/index.js';
import {
  DAILY_HEALTH_CHECK,
  DEPLOY_ON_PUSH,
  EMERGENCY_ROLLBACK,
  NIGHTLY_BACKUP,
  WEEKLY_SECURITY_SCAN,
} from '../support/reference-jobs.js';

/** A body as the API reads it: its schema first (the route's), then the job's rules. */
const buildJobSpec = (body: unknown) => buildParsedSpec(parseOrThrow(JobCreateSchema, body));
const applyJobPatch = (current: JobSpec, body: unknown) =>
  applyParsedPatch(current, parseOrThrow(JobPatchSchema, body));
/** GET /jobs's query, read by its route. */
const parseJobListQuery = (query: Record<string, string | undefined>) =>
  parseQuery(API_ROUTES.listJobs.query, query);

interface DetailKey {
  path: string;
  code: string | undefined;
}

function sortDetails(details: DetailKey[]): DetailKey[] {
  const key = (detail: DetailKey) => `${detail.path}\u0000${detail.code ?? ''}`;
  return [...details].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The problems a call reports, as `{path, code}` pairs sorted so the order of the checks does not matter. */
function detailsOf(action: () => unknown): DetailKey[] {
  try {
    action();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return sortDetails(error.details.map(({ path, code }) => ({ path, code })));
  }
  throw new Error('expected a ValidationError, but the call succeeded');
}

/** What a create body gets for every field it leaves out. */
const DEFAULTS: JobSpec = {
  name: '',
  description: null,
  trigger_type: 'manual',
  cron_schedule: null,
  cron_timezone: 'UTC',
  planning_mode: 'on_the_fly',
  entity_type: null,
  entity_id: null,
  prompt_template: '',
  system_prompt: null,
  executor_type: 'auto',
  worker_queue_name: null,
  environment_name: null,
  config: {},
  execution_environment: {},
  enabled: true,
};

const MINIMAL = { name: 'Job', trigger_type: 'manual', prompt_template: 'Do the thing' };
const CRON = { ...MINIMAL, trigger_type: 'cron', cron_schedule: '0 9 * * *' };

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let level = 1; level < depth; level++) value = { inner: value };
  return value;
}

describe('buildJobSpec', () => {
  it.each([
    ['Daily Health Check (Quick Start)', DAILY_HEALTH_CHECK],
    ['Nightly Backup (cron job)', NIGHTLY_BACKUP],
    ['Deploy on Push (webhook job)', DEPLOY_ON_PUSH],
    ['Emergency Rollback (manual job)', EMERGENCY_ROLLBACK],
    ['Weekly Security Scan (complete example)', WEEKLY_SECURITY_SCAN],
  ])('accepts the reference body %s as written, with defaults for the rest', (_label, body) => {
    // Prepare
    const expected = { ...DEFAULTS, ...body };

    // Act
    const spec = buildJobSpec(structuredClone(body));

    // Assess
    expect(spec).toEqual(expected);
  });

  it('fills every default for a minimal body', () => {
    // Prepare
    const body = { ...MINIMAL };

    // Act
    const spec = buildJobSpec(body);

    // Assess
    expect(spec).toEqual({
      name: 'Job',
      description: null,
      trigger_type: 'manual',
      cron_schedule: null,
      cron_timezone: 'UTC',
      planning_mode: 'on_the_fly',
      entity_type: null,
      entity_id: null,
      prompt_template: 'Do the thing',
      system_prompt: null,
      executor_type: 'auto',
      worker_queue_name: null,
      environment_name: null,
      config: {},
      execution_environment: {},
      enabled: true,
    });
  });

  it('treats null as "use the default" for the fields that have one', () => {
    // Prepare
    const body = {
      ...MINIMAL,
      cron_timezone: null,
      planning_mode: null,
      executor_type: null,
      config: null,
      execution_environment: null,
    };

    // Act
    const spec = buildJobSpec(body);

    // Assess
    expect(spec).toEqual({ ...DEFAULTS, ...MINIMAL });
  });

  it('trims the name', () => {
    // Prepare
    const body = { ...MINIMAL, name: '  Nightly Backup \n' };

    // Act
    const spec = buildJobSpec(body);

    // Assess
    expect(spec.name).toBe('Nightly Backup');
  });

  it('keeps config and execution_environment as given', () => {
    // Prepare
    const config = {
      timeout: 7200,
      retries: { max: 3, backoff_seconds: [1, 5, 30] },
      tags: ['a'],
      note: null,
    };
    const body = { ...MINIMAL, config, execution_environment: { env_vars: { REGION: 'eu-west-1' } } };

    // Act
    const spec = buildJobSpec(body);

    // Assess
    expect(spec.config).toEqual(config);
    expect(spec.execution_environment).toEqual({ env_vars: { REGION: 'eu-west-1' } });
  });

  it.each(['0 0 29 2 *', '0 0 31 * *', '0 0 30 2 1'])(
    'accepts "%s", which names a date that exists at least once in a while',
    (expression) => {
      // Prepare
      const body = { ...CRON, cron_schedule: expression };

      // Act
      const spec = buildJobSpec(body);

      // Assess
      expect(spec.cron_schedule).toBe(expression);
    },
  );

  it('accepts config nested exactly as deep as allowed', () => {
    // Prepare
    const body = { ...MINIMAL, config: nested(32) };

    // Act
    const spec = buildJobSpec(body);

    // Assess
    expect(spec.config).toEqual(nested(32));
  });

  it.each<[string, Record<string, unknown>, DetailKey[]]>([
    // Required fields
    ['missing name', { trigger_type: 'manual', prompt_template: 'x' }, [{ path: 'name', code: 'required' }]],
    [
      'missing trigger_type',
      { name: 'Job', prompt_template: 'x' },
      [{ path: 'trigger_type', code: 'required' }],
    ],
    [
      'missing prompt_template',
      { name: 'Job', trigger_type: 'manual' },
      [{ path: 'prompt_template', code: 'required' }],
    ],
    // Wrong types
    ['name is a number', { ...MINIMAL, name: 42 }, [{ path: 'name', code: 'invalid_type' }]],
    ['name is null', { ...MINIMAL, name: null }, [{ path: 'name', code: 'invalid_type' }]],
    [
      'prompt_template is an array',
      { ...MINIMAL, prompt_template: ['x'] },
      [{ path: 'prompt_template', code: 'invalid_type' }],
    ],
    [
      'enabled is the string "true"',
      { ...MINIMAL, enabled: 'true' },
      [{ path: 'enabled', code: 'invalid_type' }],
    ],
    ['enabled is null', { ...MINIMAL, enabled: null }, [{ path: 'enabled', code: 'invalid_type' }]],
    [
      'description is a number',
      { ...MINIMAL, description: 5 },
      [{ path: 'description', code: 'invalid_type' }],
    ],
    [
      'entity_id is a number',
      { ...MINIMAL, entity_type: 'agent', entity_id: 7 },
      [{ path: 'entity_id', code: 'invalid_type' }],
    ],
    [
      'cron_schedule is a number',
      { ...CRON, cron_schedule: 9 },
      [{ path: 'cron_schedule', code: 'invalid_type' }],
    ],
    ['config is a string', { ...MINIMAL, config: 'timeout=10' }, [{ path: 'config', code: 'invalid_type' }]],
    ['config is an array', { ...MINIMAL, config: [1, 2] }, [{ path: 'config', code: 'invalid_type' }]],
    [
      'execution_environment is an array',
      { ...MINIMAL, execution_environment: [] },
      [{ path: 'execution_environment', code: 'invalid_type' }],
    ],
    // JSON.parse turns an out-of-range number literal into Infinity.
    [
      'config holds 1e400',
      { ...MINIMAL, config: JSON.parse('{"x":1e400}') },
      [{ path: 'config', code: 'custom' }],
    ],
    ['config nested 33 deep', { ...MINIMAL, config: nested(33) }, [{ path: 'config', code: 'custom' }]],
    [
      'several wrong fields at once',
      { ...MINIMAL, name: 1, enabled: 'yes', config: 'x' },
      [
        { path: 'config', code: 'invalid_type' },
        { path: 'enabled', code: 'invalid_type' },
        { path: 'name', code: 'invalid_type' },
      ],
    ],
    // Unknown and read-only fields
    ['unknown field', { ...MINIMAL, schedule: '0 9 * * *' }, [{ path: 'schedule', code: 'unknown_field' }]],
    [
      'read-only id',
      { ...MINIMAL, id: 'job_550e8400-e29b-41d4-a716-446655440000' },
      [{ path: 'id', code: 'unknown_field' }],
    ],
    [
      'read-only created_at',
      { ...MINIMAL, created_at: '2025-01-01T00:00:00.000Z' },
      [{ path: 'created_at', code: 'unknown_field' }],
    ],
    [
      'read-only id and created_at',
      { ...MINIMAL, id: 'job_x', created_at: 'x', updated_at: 'y' },
      [
        { path: 'created_at', code: 'unknown_field' },
        { path: 'id', code: 'unknown_field' },
        { path: 'updated_at', code: 'unknown_field' },
      ],
    ],
    [
      'webhook_url is output only',
      { ...MINIMAL, webhook_url: 'https://x' },
      [{ path: 'webhook_url', code: 'unknown_field' }],
    ],
    // Enums
    [
      'trigger_type "hourly"',
      { ...MINIMAL, trigger_type: 'hourly' },
      [{ path: 'trigger_type', code: 'invalid_value' }],
    ],
    [
      'trigger_type "Cron" (case matters)',
      { ...MINIMAL, trigger_type: 'Cron' },
      [{ path: 'trigger_type', code: 'invalid_value' }],
    ],
    [
      'planning_mode "ad_hoc"',
      { ...MINIMAL, planning_mode: 'ad_hoc' },
      [{ path: 'planning_mode', code: 'invalid_value' }],
    ],
    [
      'entity_type "user"',
      { ...MINIMAL, entity_type: 'user', entity_id: 'u' },
      [{ path: 'entity_type', code: 'invalid_value' }],
    ],
    [
      'executor_type "lambda"',
      { ...MINIMAL, executor_type: 'lambda' },
      [{ path: 'executor_type', code: 'invalid_value' }],
    ],
    // Cron schedule presence
    [
      'cron without cron_schedule',
      { ...MINIMAL, trigger_type: 'cron' },
      [{ path: 'cron_schedule', code: 'required' }],
    ],
    [
      'cron with cron_schedule null',
      { ...CRON, cron_schedule: null },
      [{ path: 'cron_schedule', code: 'required' }],
    ],
    [
      'cron_schedule on a manual job',
      { ...MINIMAL, cron_schedule: '0 9 * * *' },
      [{ path: 'cron_schedule', code: 'not_allowed' }],
    ],
    [
      'cron_schedule on a webhook job',
      { ...MINIMAL, trigger_type: 'webhook', cron_schedule: '0 9 * * *' },
      [{ path: 'cron_schedule', code: 'not_allowed' }],
    ],
    // Cron syntax
    ...[
      '0 9 * *',
      '0 0 9 * * *',
      '60 * * * *',
      '* 24 * * *',
      '* * 0 * *',
      '* * 32 * *',
      '* * * 13 *',
      '* * * 0 *',
      '* * * * 8',
      '*/0 * * * *',
      '5-1 * * * *',
      'a * * * *',
      '1,,2 * * * *',
      '1/2/3 * * * *',
      '-1 * * * *',
      'MON * * * *',
      '',
      '   ',
    ].map((expression): [string, Record<string, unknown>, DetailKey[]] => [
      `cron_schedule "${expression}"`,
      { ...CRON, cron_schedule: expression },
      [{ path: 'cron_schedule', code: 'invalid_cron' }],
    ]),
    // Expressions naming no date at all
    ...['0 0 30 2 *', '0 0 31 4,6,9,11 *', '0 0 30,31 2 *'].map(
      (expression): [string, Record<string, unknown>, DetailKey[]] => [
        `cron_schedule "${expression}" (never fires)`,
        { ...CRON, cron_schedule: expression },
        [{ path: 'cron_schedule', code: 'never_fires' }],
      ],
    ),
    // Timezones
    ...['Mars/Olympus', 'EST', 'utc', '+05:00', 'America/New_York/', ''].map(
      (timezone): [string, Record<string, unknown>, DetailKey[]] => [
        `cron_timezone "${timezone}"`,
        { ...CRON, cron_timezone: timezone },
        [{ path: 'cron_timezone', code: 'custom' }],
      ],
    ),
    // Executor routing
    [
      'specific_queue without worker_queue_name',
      { ...MINIMAL, executor_type: 'specific_queue' },
      [{ path: 'worker_queue_name', code: 'required' }],
    ],
    [
      'environment without environment_name',
      { ...MINIMAL, executor_type: 'environment' },
      [{ path: 'environment_name', code: 'required' }],
    ],
    [
      'worker_queue_name with executor auto',
      { ...MINIMAL, executor_type: 'auto', worker_queue_name: 'production' },
      [{ path: 'worker_queue_name', code: 'not_allowed' }],
    ],
    [
      'worker_queue_name with executor left to default',
      { ...MINIMAL, worker_queue_name: 'production' },
      [{ path: 'worker_queue_name', code: 'not_allowed' }],
    ],
    [
      'environment_name with specific_queue',
      { ...MINIMAL, executor_type: 'specific_queue', worker_queue_name: 'q', environment_name: 'production' },
      [{ path: 'environment_name', code: 'not_allowed' }],
    ],
    [
      'worker_queue_name outside the SQS alphabet',
      { ...MINIMAL, executor_type: 'specific_queue', worker_queue_name: 'prod queue!' },
      [{ path: 'worker_queue_name', code: 'invalid_format' }],
    ],
    // Entities
    [
      'predefined_agent without entity_type and entity_id',
      { ...MINIMAL, planning_mode: 'predefined_agent' },
      [
        { path: 'entity_id', code: 'required' },
        { path: 'entity_type', code: 'required' },
      ],
    ],
    [
      'predefined_team with entity_type "agent"',
      { ...MINIMAL, planning_mode: 'predefined_team', entity_type: 'agent', entity_id: 'agent-uuid' },
      [{ path: 'entity_type', code: 'mismatch' }],
    ],
    [
      'entity_id without entity_type',
      { ...MINIMAL, entity_id: 'agent-uuid' },
      [{ path: 'entity_type', code: 'required' }],
    ],
    [
      'entity_type without entity_id',
      { ...MINIMAL, entity_type: 'agent' },
      [{ path: 'entity_id', code: 'required' }],
    ],
    // Strings
    ['empty name', { ...MINIMAL, name: '' }, [{ path: 'name', code: 'too_small' }]],
    ['whitespace-only name', { ...MINIMAL, name: ' \t\n ' }, [{ path: 'name', code: 'too_small' }]],
    ['name over 200 characters', { ...MINIMAL, name: 'n'.repeat(201) }, [{ path: 'name', code: 'too_big' }]],
    [
      'empty prompt_template',
      { ...MINIMAL, prompt_template: '' },
      [{ path: 'prompt_template', code: 'too_small' }],
    ],
    [
      'prompt_template over 64 Ki characters',
      { ...MINIMAL, prompt_template: 'p'.repeat(64 * 1024 + 1) },
      [{ path: 'prompt_template', code: 'too_big' }],
    ],
  ])('rejects %s', (_label, body, expected) => {
    // Prepare
    const build = () => buildJobSpec(body);

    // Act
    const details = detailsOf(build);

    // Assess
    expect(details).toEqual(sortDetails(expected));
  });

  it.each([null, 'job', 42, true, [], [MINIMAL]])('rejects the non-object body %j', (body) => {
    // Prepare
    const build = () => buildJobSpec(body);

    // Act
    const details = detailsOf(build);

    // Assess
    expect(details).toEqual([{ path: '', code: 'invalid_type' }]);
  });

  it('gives every detail a message and the error a summary naming the first field', () => {
    // Prepare
    const body = { ...MINIMAL, trigger_type: 'cron', cron_schedule: '61 * * * *' };

    // Act
    let caught: unknown;
    try {
      buildJobSpec(body);
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(ValidationError);
    const error = caught as ValidationError;
    expect(httpStatusOf(error)).toBe(422);
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual([
      {
        path: 'cron_schedule',
        code: 'invalid_cron',
        message: expect.stringContaining('minute: 61 is out of range 0-59'),
      },
    ]);
    expect(error.message).toMatch(/^cron_schedule: /);
  });
});

describe('JSON objects', () => {
  it('keeps a "__proto__" key of config as data instead of dropping it', () => {
    // Prepare
    const body = JSON.parse(
      '{"name":"n","trigger_type":"manual","prompt_template":"p","config":{"__proto__":{"polluted":true},"a":1}}',
    ) as unknown;

    // Act
    const spec = buildJobSpec(body);

    // Assess
    expect(JSON.stringify(spec.config)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('applyJobPatch', () => {
  const dailyHealthCheck = (): JobSpec => buildJobSpec(structuredClone(DAILY_HEALTH_CHECK));
  const nightlyBackup = (): JobSpec => buildJobSpec(structuredClone(NIGHTLY_BACKUP));
  const deployOnPush = (): JobSpec => buildJobSpec(structuredClone(DEPLOY_ON_PUSH));

  it('applies the reference update "change the cron schedule"', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const next = applyJobPatch(spec, { cron_schedule: '0 10 * * *', cron_timezone: 'UTC' });

    // Assess
    expect(next).toEqual({ ...spec, cron_schedule: '0 10 * * *', cron_timezone: 'UTC' });
  });

  it('applies the reference update "change the prompt template"', () => {
    // Prepare
    const spec = dailyHealthCheck();

    // Act
    const next = applyJobPatch(spec, { prompt_template: 'Updated prompt with {{ new_variable }} ' });

    // Assess
    expect(next).toEqual({ ...spec, prompt_template: 'Updated prompt with {{ new_variable }} ' });
  });

  it('applies the reference update "disable job"', () => {
    // Prepare
    const spec = dailyHealthCheck();

    // Act
    const next = applyJobPatch(spec, { enabled: false });

    // Assess
    expect(next).toEqual({ ...spec, enabled: false });
  });

  it('does not modify the spec it is given', () => {
    // Prepare
    const spec = nightlyBackup();
    const before = structuredClone(spec);

    // Act
    applyJobPatch(spec, { name: 'Renamed', trigger_type: 'manual', executor_type: 'auto', config: { a: 1 } });

    // Assess
    expect(spec).toEqual(before);
  });

  it('leaves the spec equal for an empty patch', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const next = applyJobPatch(spec, {});

    // Assess
    expect(next).toEqual(spec);
  });

  it('clears cron_schedule when trigger_type switches from cron to manual', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const next = applyJobPatch(spec, { trigger_type: 'manual' });

    // Assess
    expect(next).toEqual({ ...spec, trigger_type: 'manual', cron_schedule: null });
  });

  it('requires cron_schedule when trigger_type switches to cron without one', () => {
    // Prepare
    const spec = deployOnPush();

    // Act
    const details = detailsOf(() => applyJobPatch(spec, { trigger_type: 'cron' }));

    // Assess
    expect(details).toEqual([{ path: 'cron_schedule', code: 'required' }]);
  });

  it('switches a webhook job to cron in one patch', () => {
    // Prepare
    const spec = deployOnPush();

    // Act
    const next = applyJobPatch(spec, { trigger_type: 'cron', cron_schedule: '*/15 * * * *' });

    // Assess
    expect(next).toEqual({ ...spec, trigger_type: 'cron', cron_schedule: '*/15 * * * *' });
  });

  it('rejects an explicit cron_schedule sent with trigger_type manual', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const details = detailsOf(() =>
      applyJobPatch(spec, { trigger_type: 'manual', cron_schedule: '0 3 * * *' }),
    );

    // Assess
    expect(details).toEqual([{ path: 'cron_schedule', code: 'not_allowed' }]);
  });

  it('rejects a cron_schedule patched onto a webhook job', () => {
    // Prepare
    const spec = deployOnPush();

    // Act
    const details = detailsOf(() => applyJobPatch(spec, { cron_schedule: '0 3 * * *' }));

    // Assess
    expect(details).toEqual([{ path: 'cron_schedule', code: 'not_allowed' }]);
  });

  it('clears worker_queue_name when executor_type switches from specific_queue to auto', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const next = applyJobPatch(spec, { executor_type: 'auto' });

    // Assess
    expect(next).toEqual({ ...spec, executor_type: 'auto', worker_queue_name: null });
  });

  it('clears environment_name when executor_type is reset with null', () => {
    // Prepare
    const spec = deployOnPush();

    // Act
    const next = applyJobPatch(spec, { executor_type: null });

    // Assess
    expect(next).toEqual({ ...spec, executor_type: 'auto', environment_name: null });
  });

  it('swaps specific_queue for environment in one patch', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const next = applyJobPatch(spec, { executor_type: 'environment', environment_name: 'staging' });

    // Assess
    expect(next).toEqual({
      ...spec,
      executor_type: 'environment',
      worker_queue_name: null,
      environment_name: 'staging',
    });
  });

  it('rejects a worker_queue_name sent with executor_type auto', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const details = detailsOf(() =>
      applyJobPatch(spec, { executor_type: 'auto', worker_queue_name: 'production' }),
    );

    // Assess
    expect(details).toEqual([{ path: 'worker_queue_name', code: 'not_allowed' }]);
  });

  it('resets cron_timezone to UTC on null', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const next = applyJobPatch(spec, { cron_timezone: null });

    // Assess
    expect(next.cron_timezone).toBe('UTC');
    expect(next).toEqual({ ...spec, cron_timezone: 'UTC' });
  });

  it('resets planning_mode, config and execution_environment on null', () => {
    // Prepare
    const spec = buildJobSpec({ ...MINIMAL, config: { timeout: 60 }, execution_environment: { a: 1 } });

    // Act
    const next = applyJobPatch(spec, { planning_mode: null, config: null, execution_environment: null });

    // Assess
    expect(next).toEqual({ ...spec, planning_mode: 'on_the_fly', config: {}, execution_environment: {} });
  });

  it('clears the description with null', () => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const next = applyJobPatch(spec, { description: null });

    // Assess
    expect(next).toEqual({ ...spec, description: null });
  });

  it('replaces config as a whole rather than merging it', () => {
    // Prepare
    const spec = buildJobSpec({ ...MINIMAL, config: { timeout: 60, retries: 2 } });

    // Act
    const next = applyJobPatch(spec, { config: { timeout: 120 } });

    // Assess
    expect(next.config).toEqual({ timeout: 120 });
  });

  it.each<[string, Record<string, unknown>, DetailKey[]]>([
    ['read-only id', { id: 'job_x' }, [{ path: 'id', code: 'unknown_field' }]],
    [
      'read-only created_at',
      { created_at: '2025-01-01T00:00:00.000Z' },
      [{ path: 'created_at', code: 'unknown_field' }],
    ],
    ['name null', { name: null }, [{ path: 'name', code: 'invalid_type' }]],
    ['prompt_template null', { prompt_template: null }, [{ path: 'prompt_template', code: 'invalid_type' }]],
    ['trigger_type null', { trigger_type: null }, [{ path: 'trigger_type', code: 'invalid_value' }]],
    ['enabled null', { enabled: null }, [{ path: 'enabled', code: 'invalid_type' }]],
    [
      'cron_schedule null on a cron job',
      { cron_schedule: null },
      [{ path: 'cron_schedule', code: 'required' }],
    ],
    [
      'bad cron expression',
      { cron_schedule: '* * * * 8' },
      [{ path: 'cron_schedule', code: 'invalid_cron' }],
    ],
    ['unknown timezone', { cron_timezone: 'Mars/Olympus' }, [{ path: 'cron_timezone', code: 'custom' }]],
    [
      'worker_queue_name null on specific_queue',
      { worker_queue_name: null },
      [{ path: 'worker_queue_name', code: 'required' }],
    ],
    ['entity_type for another mode', { entity_type: 'team' }, [{ path: 'entity_type', code: 'mismatch' }]],
    [
      'entity cleared while predefined_agent',
      { entity_type: null, entity_id: null },
      [
        { path: 'entity_id', code: 'required' },
        { path: 'entity_type', code: 'required' },
      ],
    ],
  ])('rejects the patch %s on a cron job', (_label, patch, expected) => {
    // Prepare
    const spec = nightlyBackup();

    // Act
    const details = detailsOf(() => applyJobPatch(spec, patch));

    // Assess
    expect(details).toEqual(sortDetails(expected));
  });

  it('rejects the patch that would push the job document past 256 KiB', () => {
    // Prepare
    // "€" is one UTF-16 unit but three UTF-8 bytes: each prompt stays within its character limit.
    const bigPrompt = '€'.repeat(64 * 1024);
    const spec = dailyHealthCheck();
    const withBigPrompt = applyJobPatch(spec, { prompt_template: bigPrompt });

    // Act
    const details = detailsOf(() => applyJobPatch(withBigPrompt, { system_prompt: bigPrompt }));

    // Assess
    expect(new TextEncoder().encode(JSON.stringify(withBigPrompt)).length).toBeLessThanOrEqual(
      MAX_JOB_DOCUMENT_BYTES,
    );
    expect(details).toEqual([{ path: '', code: 'too_large' }]);
  });
});

describe('isIanaTimezone', () => {
  it.each([
    'UTC',
    'America/New_York',
    'Europe/London',
    'Asia/Kolkata',
    'America/Argentina/Buenos_Aires',
    'Etc/GMT+5',
    'US/Eastern',
  ])('accepts %s', (name) => {
    // Prepare
    const timezone = name;

    // Act
    const accepted = isIanaTimezone(timezone);

    // Assess
    expect(accepted).toBe(true);
  });

  it.each([
    'Mars/Olympus',
    'EST',
    'utc',
    '+05:00',
    'GMT+5',
    '',
    'America/',
    '/New_York',
    'America//New_York',
    'america/new_york',
    'America/new_york',
    'Europe/LONDON',
    'America/New_york',
  ])('rejects %j', (name) => {
    // Prepare
    const timezone = name;

    // Act
    const accepted = isIanaTimezone(timezone);

    // Assess
    expect(accepted).toBe(false);
  });
});

describe('parseJobListQuery', () => {
  it('defaults to 50 jobs and no filters', () => {
    // Prepare
    const query = {};

    // Act
    const filter = parseJobListQuery(query);

    // Assess
    expect(filter).toEqual({ limit: 50 });
  });

  it.each([
    ['true', true],
    ['false', false],
    ['True', true],
    ['False', false],
  ])('reads enabled=%s as %s', (text, expected) => {
    // Prepare
    const query = { enabled: text };

    // Act
    const filter = parseJobListQuery(query);

    // Assess
    expect(filter).toEqual({ enabled: expected, limit: 50 });
  });

  it.each(['cron', 'webhook', 'manual'] as const)('filters by trigger_type=%s', (triggerType) => {
    // Prepare
    const query = { trigger_type: triggerType };

    // Act
    const filter = parseJobListQuery(query);

    // Assess
    expect(filter).toEqual({ trigger_type: triggerType, limit: 50 });
  });

  it.each([
    ['1', 1],
    ['100', 100],
    ['007', 7],
  ])('takes limit=%s', (text, expected) => {
    // Prepare
    const query = { limit: text };

    // Act
    const filter = parseJobListQuery(query);

    // Assess
    expect(filter.limit).toBe(expected);
  });

  it('passes the cursor through with the other filters', () => {
    // Prepare
    const query = { enabled: 'false', trigger_type: 'cron', limit: '2', cursor: 'abc' };

    // Act
    const filter = parseJobListQuery(query);

    // Assess
    expect(filter).toEqual({ enabled: false, trigger_type: 'cron', limit: 2, cursor: 'abc' });
  });

  it('ignores parameters that are present but undefined', () => {
    // Prepare
    const query = { enabled: undefined, limit: undefined };

    // Act
    const filter = parseJobListQuery(query);

    // Assess
    expect(filter).toEqual({ limit: 50 });
  });

  it.each<[string, Record<string, string>, DetailKey[]]>([
    ['limit=0', { limit: '0' }, [{ path: 'limit', code: 'custom' }]],
    ['limit=101', { limit: '101' }, [{ path: 'limit', code: 'custom' }]],
    ['limit=abc', { limit: 'abc' }, [{ path: 'limit', code: 'invalid_format' }]],
    ['limit=-1', { limit: '-1' }, [{ path: 'limit', code: 'invalid_format' }]],
    ['limit=1.5', { limit: '1.5' }, [{ path: 'limit', code: 'invalid_format' }]],
    ['limit empty', { limit: '' }, [{ path: 'limit', code: 'invalid_format' }]],
    ['enabled=yes', { enabled: 'yes' }, [{ path: 'enabled', code: 'invalid_value' }]],
    ['enabled=1', { enabled: '1' }, [{ path: 'enabled', code: 'invalid_value' }]],
    ['trigger_type=hourly', { trigger_type: 'hourly' }, [{ path: 'trigger_type', code: 'invalid_value' }]],
    ['an unknown parameter', { page: '2' }, [{ path: 'page', code: 'unknown_field' }]],
    ['a repeated parameter', { enabled: 'true,false' }, [{ path: 'enabled', code: 'repeated_parameter' }]],
    [
      'several bad parameters',
      { enabled: 'maybe', limit: '0', offset: '10' },
      [
        { path: 'enabled', code: 'invalid_value' },
        { path: 'limit', code: 'custom' },
        { path: 'offset', code: 'unknown_field' },
      ],
    ],
  ])('rejects %s', (_label, query, expected) => {
    // Prepare
    const parse = () => parseJobListQuery(query);

    // Act
    const details = detailsOf(parse);

    // Assess
    expect(details).toEqual(expected);
  });
});

describe('error messages', () => {
  it('says what a field must be, in words', () => {
    // Prepare
    const body = { name: 1, trigger_type: 'hourly', prompt_template: 'p', config: [] };

    // Act
    let details: { path: string; message: string }[] = [];
    try {
      buildJobSpec(body);
    } catch (error) {
      details = (error as ValidationError).details;
    }

    // Assess
    expect(details).toEqual([
      { path: 'name', message: 'must be a string', code: 'invalid_type' },
      { path: 'trigger_type', message: 'must be one of "cron", "webhook", "manual"', code: 'invalid_value' },
      { path: 'config', message: 'must be a JSON object', code: 'invalid_type' },
    ]);
  });
});

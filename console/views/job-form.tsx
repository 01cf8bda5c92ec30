import { useEffect, useMemo, useState } from 'preact/hooks';
import type {
  Entity,
  Job,
  JobCreateInput,
  JobPatchInput,
  PlanningMode,
  SchedulePreview,
  TriggerType,
} from '../../sdk/browser.js';
import { ErrorMessage, Field, splitErrors, useFocusHeading } from '../components.js';
import { cronInWords } from '../cron-words.js';
import { flash } from '../flash.js';
import { formatInstant } from '../format.js';
import { useAction, useLoader, useSession } from '../hooks.js';
import { links, navigate } from '../router.js';

const PLANNING_MODES: PlanningMode[] = [
  'on_the_fly',
  'predefined_agent',
  'predefined_team',
  'predefined_workflow',
];
const EXECUTOR_TYPES = ['auto', 'specific_queue', 'environment'] as const;
const FIELDS = [
  'name',
  'description',
  'trigger_type',
  'cron_schedule',
  'cron_timezone',
  'prompt_template',
  'system_prompt',
  'planning_mode',
  'entity_type',
  'entity_id',
  'executor_type',
  'worker_queue_name',
  'environment_name',
  'config',
  'execution_environment',
  'enabled',
] as const;

interface FormState {
  name: string;
  description: string;
  trigger_type: TriggerType;
  cron_schedule: string;
  cron_timezone: string;
  prompt_template: string;
  system_prompt: string;
  planning_mode: PlanningMode;
  /** `type/id` of the chosen entity, or '' for the deployment's default. */
  entity: string;
  executor_type: (typeof EXECUTOR_TYPES)[number];
  worker_queue_name: string;
  environment_name: string;
  config: string;
  execution_environment: string;
  enabled: boolean;
}

function initialState(job: Job | undefined): FormState {
  const json = (value: Record<string, unknown> | undefined) =>
    value && Object.keys(value).length > 0 ? JSON.stringify(value, null, 2) : '';
  return {
    name: job?.name ?? '',
    description: job?.description ?? '',
    trigger_type: job?.trigger_type ?? 'manual',
    cron_schedule: job?.cron_schedule ?? '',
    cron_timezone: job?.cron_timezone ?? 'UTC',
    prompt_template: job?.prompt_template ?? '',
    system_prompt: job?.system_prompt ?? '',
    planning_mode: job?.planning_mode ?? 'on_the_fly',
    entity: job?.entity_type && job.entity_id ? `${job.entity_type}/${job.entity_id}` : '',
    executor_type: job?.executor_type ?? 'auto',
    worker_queue_name: job?.worker_queue_name ?? '',
    environment_name: job?.environment_name ?? '',
    config: json(job?.config),
    execution_environment: json(job?.execution_environment),
    enabled: job?.enabled ?? true,
  };
}

/** The JSON text of an object field, or the problem with it (checked here: the API needs an object). */
function parseObject(text: string): { value: Record<string, unknown> } | { error: string } {
  if (text.trim() === '') return { value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { error: 'must be a JSON object, like {"timeout": 600}' };
    }
    return { value: value as Record<string, unknown> };
  } catch (error) {
    return { error: `is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The job the form describes, as the API takes it; local problems (bad JSON) keyed by field. */
function toSpec(form: FormState): { spec: JobCreateInput } | { problems: Record<string, string> } {
  const problems: Record<string, string> = {};
  const config = parseObject(form.config);
  const environment = parseObject(form.execution_environment);
  if ('error' in config) problems.config = config.error;
  if ('error' in environment) problems.execution_environment = environment.error;
  if ('error' in config || 'error' in environment) return { problems };
  const [entityType, ...entityId] = form.entity.split('/');
  const spec: JobCreateInput = {
    name: form.name,
    description: form.description === '' ? null : form.description,
    trigger_type: form.trigger_type,
    cron_schedule: form.trigger_type === 'cron' ? form.cron_schedule : null,
    cron_timezone: form.trigger_type === 'cron' ? form.cron_timezone || 'UTC' : null,
    prompt_template: form.prompt_template,
    system_prompt: form.system_prompt === '' ? null : form.system_prompt,
    planning_mode: form.planning_mode,
    entity_type: form.entity ? (entityType as Job['entity_type']) : null,
    entity_id: form.entity ? entityId.join('/') : null,
    executor_type: form.executor_type,
    worker_queue_name: form.executor_type === 'specific_queue' ? form.worker_queue_name : null,
    environment_name: form.executor_type === 'environment' ? form.environment_name : null,
    config: 'value' in config ? config.value : {},
    execution_environment: 'value' in environment ? environment.value : {},
    enabled: form.enabled,
  };
  return { spec };
}

/** Only what changed, so an edit never rewrites fields the user did not touch. */
function patchOf(job: Job, spec: JobCreateInput): JobPatchInput {
  const patch: Record<string, unknown> = {};
  const current = { ...job, cron_timezone: job.trigger_type === 'cron' ? job.cron_timezone : null };
  for (const [key, value] of Object.entries(spec)) {
    const before = (current as Record<string, unknown>)[key] ?? null;
    if (JSON.stringify(before) !== JSON.stringify(value ?? null)) patch[key] = value;
  }
  // The service keeps a zone even for jobs that are not cron; clearing it is not a change anyone asked for.
  if (patch.cron_timezone === null) delete patch.cron_timezone;
  return patch as JobPatchInput;
}

/** The next fires of the expression in the zone, asked of the service as the user types. */
function CronPreview({ expression, timezone }: { expression: string; timezone: string }) {
  const { api } = useSession();
  const [result, setResult] = useState<{ preview?: SchedulePreview; error?: unknown } | null>(null);
  useEffect(() => {
    if (expression.trim() === '') {
      setResult(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      api.client.jobs.previewSchedule(expression, timezone || 'UTC', 5).then(
        (preview) => current && setResult({ preview }),
        (error: unknown) => current && setResult({ error }),
      );
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, expression, timezone]);

  const words = cronInWords(expression);
  return (
    <section class="preview" aria-labelledby="cron-preview-title" aria-live="polite">
      <h3 id="cron-preview-title">Next fires</h3>
      {words && (
        <p>
          Runs {words} ({timezone || 'UTC'} time).
        </p>
      )}
      {result === null && <p class="muted">Type an expression to see when it fires.</p>}
      {result?.error !== undefined && <ErrorMessage error={result.error} title="Preview:" />}
      {result?.preview && (
        <>
          <ol class="fires">
            {result.preview.fires.map((fire) => (
              <li key={fire.utc}>
                <span class="mono">{fire.local.replace('T', ' ')}</span> {result.preview?.timezone}
                <span class="muted"> · {formatInstant(fire.utc)} your time</span>
                {fire.repeated_local_time && (
                  <span class="tag warn">
                    <span aria-hidden="true">⚠ </span>repeated local time (clocks go back)
                  </span>
                )}
              </li>
            ))}
          </ol>
          {result.preview.skipped.length > 0 && (
            <ul class="skipped">
              {result.preview.skipped.map((skip) => (
                <li key={skip.local}>
                  <span class="tag warn">
                    <span aria-hidden="true">⚠ </span>skipped
                  </span>{' '}
                  <span class="mono">{skip.local.replace('T', ' ')}</span> does not exist in{' '}
                  {result.preview?.timezone} (clocks go forward): no run then
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

const timeZones: string[] = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

/** The create form (`jobId` absent) or the edit form of a job. 422 problems appear at their fields. */
export function JobForm({ jobId }: { jobId?: string }) {
  const { api } = useSession();
  const job = useLoader(() => (jobId ? api.client.jobs.get(jobId) : Promise.resolve(undefined)), [jobId]);
  const entities = useLoader(() => api.client.entities.list(), []);
  const heading = useFocusHeading(jobId ?? 'new');
  if (jobId && !job.data) {
    return (
      <section>
        <h1 ref={heading} tabIndex={-1}>
          Edit job
        </h1>
        {job.error ? <ErrorMessage error={job.error} /> : <p class="muted">Loading…</p>}
      </section>
    );
  }
  return (
    <JobFormBody
      key={job.data?.id ?? 'new'}
      job={job.data}
      entities={entities.data ?? []}
      heading={heading}
      save={async (spec) => {
        if (!job.data) return api.client.jobs.create(spec);
        return api.client.jobs.update(job.data.id, patchOf(job.data, spec));
      }}
    />
  );
}

function JobFormBody(props: {
  job: Job | undefined;
  entities: Entity[];
  heading: { current: HTMLHeadingElement | null };
  save: (spec: JobCreateInput) => Promise<Job>;
}) {
  const { job } = props;
  const [form, setForm] = useState<FormState>(() => initialState(job));
  const [local, setLocal] = useState<Record<string, string>>({});
  const saving = useAction(props.save);
  const { byField, rest } = useMemo(() => splitErrors(saving.error, FIELDS), [saving.error]);
  const errorOf = (field: string) => local[field] ?? byField[field];
  const set =
    <K extends keyof FormState>(key: K) =>
    (value: FormState[K]) =>
      setForm((previous) => ({ ...previous, [key]: value }));
  const text = (key: keyof FormState) => (event: Event) =>
    set(key)((event.currentTarget as HTMLInputElement).value as never);

  const submit = async (event: Event) => {
    event.preventDefault();
    const built = toSpec(form);
    if ('problems' in built) {
      setLocal(built.problems);
      saving.clear();
      return;
    }
    setLocal({});
    const saved = await saving.run(built.spec);
    if (!saved) return;
    if (saved.webhook_secret) flash.put(saved.id, 'Webhook secret', saved.webhook_secret);
    navigate(links.job(saved.id));
  };

  const title = job ? `Edit ${job.name}` : 'New job';
  return (
    <section>
      <p class="crumbs">
        <a href={links.jobs()}>Jobs</a>
        {job && (
          <>
            {' / '}
            <a href={links.job(job.id)}>{job.name}</a>
          </>
        )}
      </p>
      <h1 ref={props.heading} tabIndex={-1}>
        {title}
      </h1>
      <form onSubmit={submit} noValidate class="form" aria-label={title}>
        {(saving.error || Object.keys(local).length > 0) && (
          <div class="error-box" role="alert">
            {Object.keys(local).length > 0
              ? 'Fix the fields marked below.'
              : rest.length > 0 || Object.keys(byField).length === 0
                ? (saving.error as Error).message
                : 'The service refused some fields: see the messages next to them.'}
          </div>
        )}
        <Field id="job-name" label="Name" error={errorOf('name')}>
          {(aria) => <input {...aria} value={form.name} onInput={text('name')} required autoComplete="off" />}
        </Field>
        <Field id="job-description" label="Description (optional)" error={errorOf('description')}>
          {(aria) => <textarea {...aria} rows={2} value={form.description} onInput={text('description')} />}
        </Field>
        <fieldset class="field">
          <legend>Trigger</legend>
          {(['manual', 'cron', 'webhook'] as const).map((type) => (
            <label class="choice" key={type}>
              <input
                type="radio"
                name="trigger_type"
                value={type}
                checked={form.trigger_type === type}
                onChange={() => set('trigger_type')(type)}
              />{' '}
              {type === 'manual'
                ? 'Manual (Run now, API)'
                : type === 'cron'
                  ? 'Cron schedule'
                  : 'Signed webhook'}
            </label>
          ))}
          {errorOf('trigger_type') && <p class="field-error">{errorOf('trigger_type')}</p>}
        </fieldset>
        {form.trigger_type === 'cron' && (
          <div class="cron-fields">
            <div class="row">
              <Field
                id="job-cron"
                label="Cron expression"
                error={errorOf('cron_schedule')}
                hint="Five fields: minute hour day-of-month month day-of-week, e.g. 30 2 * * 1-5"
              >
                {(aria) => (
                  <input
                    {...aria}
                    class="mono"
                    value={form.cron_schedule}
                    onInput={text('cron_schedule')}
                    autoComplete="off"
                    spellcheck={false}
                  />
                )}
              </Field>
              <Field
                id="job-timezone"
                label="Time zone"
                error={errorOf('cron_timezone')}
                hint="IANA name, e.g. Europe/Paris"
              >
                {(aria) => (
                  <>
                    <input
                      {...aria}
                      list="time-zones"
                      value={form.cron_timezone}
                      onInput={text('cron_timezone')}
                      autoComplete="off"
                    />
                    <datalist id="time-zones">
                      {timeZones.map((zone) => (
                        <option key={zone} value={zone} />
                      ))}
                    </datalist>
                  </>
                )}
              </Field>
            </div>
            <CronPreview expression={form.cron_schedule} timezone={form.cron_timezone} />
          </div>
        )}
        <Field
          id="job-prompt"
          label="Prompt template"
          error={errorOf('prompt_template')}
          hint="{{ name }} placeholders are filled from a run's parameters."
        >
          {(aria) => (
            <textarea
              {...aria}
              rows={4}
              class="mono"
              value={form.prompt_template}
              onInput={text('prompt_template')}
            />
          )}
        </Field>
        <Field id="job-system-prompt" label="System prompt (optional)" error={errorOf('system_prompt')}>
          {(aria) => (
            <textarea {...aria} rows={2} value={form.system_prompt} onInput={text('system_prompt')} />
          )}
        </Field>
        <div class="row">
          <Field id="job-planning" label="Planning mode" error={errorOf('planning_mode')}>
            {(aria) => (
              <select {...aria} value={form.planning_mode} onChange={text('planning_mode')}>
                {PLANNING_MODES.map((mode) => (
                  <option key={mode} value={mode}>
                    {mode}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id="job-entity" label="Entity" error={errorOf('entity_id') ?? errorOf('entity_type')}>
            {(aria) => (
              <select {...aria} value={form.entity} onChange={text('entity')}>
                <option value="">The deployment's default</option>
                {form.entity &&
                  !props.entities.some((entity) => `${entity.type}/${entity.id}` === form.entity) && (
                    <option value={form.entity}>{form.entity}</option>
                  )}
                {props.entities.map((entity) => (
                  <option key={entity.id} value={`${entity.type}/${entity.id}`}>
                    {entity.name} ({entity.type}, {entity.id})
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div class="row">
          <Field id="job-executor" label="Executor" error={errorOf('executor_type')}>
            {(aria) => (
              <select {...aria} value={form.executor_type} onChange={text('executor_type')}>
                {EXECUTOR_TYPES.map((type) => (
                  <option key={type} value={type}>
                    {type}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {form.executor_type === 'specific_queue' && (
            <Field id="job-queue" label="Worker queue" error={errorOf('worker_queue_name')}>
              {(aria) => (
                <input {...aria} value={form.worker_queue_name} onInput={text('worker_queue_name')} />
              )}
            </Field>
          )}
          {form.executor_type === 'environment' && (
            <Field id="job-environment" label="Environment" error={errorOf('environment_name')}>
              {(aria) => <input {...aria} value={form.environment_name} onInput={text('environment_name')} />}
            </Field>
          )}
        </div>
        <Field
          id="job-config"
          label="Config (JSON, optional)"
          error={errorOf('config')}
          hint='For example {"timeout": 600, "retry": {"max_attempts": 3}}'
        >
          {(aria) => (
            <textarea
              {...aria}
              rows={3}
              class="mono"
              value={form.config}
              onInput={text('config')}
              spellcheck={false}
            />
          )}
        </Field>
        <Field
          id="job-exec-env"
          label="Execution environment (JSON, optional)"
          error={errorOf('execution_environment')}
        >
          {(aria) => (
            <textarea
              {...aria}
              rows={2}
              class="mono"
              value={form.execution_environment}
              onInput={text('execution_environment')}
              spellcheck={false}
            />
          )}
        </Field>
        <label class="choice">
          <input
            type="checkbox"
            checked={form.enabled}
            onChange={(event) => set('enabled')(event.currentTarget.checked)}
          />{' '}
          Enabled
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled={saving.busy}>
            {job ? 'Save changes' : 'Create job'}
          </button>
          <a class="button secondary" href={job ? links.job(job.id) : links.jobs()}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}

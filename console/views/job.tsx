import { type ComponentChildren, Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { type Job, NotFoundError, type WebhookSecretRotation } from '../../sdk/browser.js';
import { templateVariables } from '../../shared/domain/template.js';
import {
  ConfirmButton,
  CopyButton,
  EnabledBadge,
  ErrorMessage,
  Field,
  Instant,
  JumpButton,
  SecretOnce,
  splitErrors,
  useFocusHeading,
} from '../components.js';
import { cronInWords } from '../cron-words.js';
import { flash } from '../flash.js';
import { formatInstant, formatJson } from '../format.js';
import { useAction, useLoader, useNow, useSession } from '../hooks.js';
import { links, navigate } from '../router.js';
import { RunHistory, RunStrip } from './job-runs.js';

/** Dotted placeholders (`repo.branch`) become nested parameters, as the template reads them. */
function parametersFrom(values: Record<string, string>): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    const keys = name.split('.');
    let target = parameters;
    for (const key of keys.slice(0, -1)) {
      const next = target[key];
      if (typeof next !== 'object' || next === null) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1] as string] = value;
  }
  return parameters;
}

/** Run now: one field per `{{ placeholder }}` of the template, plus an optional config override. */
function RunNowForm({ job, onStarted }: { job: Job; onStarted: () => void }) {
  const { api } = useSession();
  const names = useMemo(() => templateVariables(job.prompt_template), [job.prompt_template]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [override, setOverride] = useState('');
  const [overrideProblem, setOverrideProblem] = useState<string | null>(null);
  const trigger = useAction(
    (body: { parameters: Record<string, unknown>; config_override?: Record<string, unknown> }) =>
      api.client.jobs.trigger(job.id, body),
  );
  const fields = [...names.map((name) => `parameters.${name}`), 'config_override', 'parameters'];
  const { byField, rest } = splitErrors(trigger.error, fields);

  const submit = async (event: Event) => {
    event.preventDefault();
    let configOverride: Record<string, unknown> | undefined;
    if (override.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(override);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object');
        configOverride = parsed as Record<string, unknown>;
      } catch {
        setOverrideProblem('must be a JSON object, like {"timeout": 600}');
        return;
      }
    }
    setOverrideProblem(null);
    const started = await trigger.run({
      parameters: parametersFrom(values),
      ...(configOverride !== undefined && { config_override: configOverride }),
    });
    if (!started) return;
    onStarted();
    navigate(links.run(job.id, started.execution_id));
  };

  return (
    <section aria-labelledby="run-now-title" id="run-now" class="card">
      <h2 id="run-now-title">Run now</h2>
      {!job.enabled && <p class="notice">This job is disabled: enable it to run it.</p>}
      <form onSubmit={submit} noValidate aria-labelledby="run-now-title">
        {(rest.length > 0 || (trigger.error && Object.keys(byField).length === 0)) && (
          <ErrorMessage error={trigger.error} />
        )}
        {names.length === 0 && <p class="muted">The prompt template has no placeholders.</p>}
        {names.map((name) => (
          <Field key={name} id={`param-${name}`} label={name} error={byField[`parameters.${name}`]}>
            {(aria) => (
              <input
                {...aria}
                value={values[name] ?? ''}
                onInput={(event) => setValues({ ...values, [name]: event.currentTarget.value })}
                autoComplete="off"
              />
            )}
          </Field>
        ))}
        <Field
          id="run-config-override"
          label="Config override (JSON, optional)"
          error={overrideProblem ?? byField.config_override}
          hint='For this run only, e.g. {"timeout": 600}'
        >
          {(aria) => (
            <textarea
              {...aria}
              class="mono"
              rows={2}
              value={override}
              onInput={(event) => setOverride(event.currentTarget.value)}
              spellcheck={false}
            />
          )}
        </Field>
        <button type="submit" class="primary" disabled={trigger.busy || !job.enabled}>
          {trigger.busy ? 'Starting…' : 'Run now'}
        </button>
      </form>
    </section>
  );
}

function curlExample(job: Job): string {
  const names = templateVariables(job.prompt_template);
  const parameters = Object.fromEntries(names.map((name) => [name, '…']));
  const body = JSON.stringify({ parameters });
  return [
    "# WEBHOOK_SECRET holds the job's secret (shown when the job was created or its secret rotated).",
    `BODY='${body.replaceAll("'", "'\\''")}'`,
    `SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" | sed 's/^.* //')`,
    `curl -s -X POST '${(job.webhook_url ?? '').replaceAll("'", "'\\''")}' \\`,
    `  -H "X-Webhook-Signature: $SIG" -H 'Content-Type: application/json' -d "$BODY"`,
  ].join('\n');
}

/** A webhook job's URL, a signed curl example, and rotation of its secret with a grace period. */
function WebhookPanel({ job, onRotated }: { job: Job; onRotated: () => void }) {
  const { api } = useSession();
  const [grace, setGrace] = useState('86400');
  const [rotation, setRotation] = useState<WebhookSecretRotation | null>(null);
  const rotate = useAction((graceSeconds: number) =>
    api.client.jobs.rotateWebhookSecret(job.id, { grace_seconds: graceSeconds }),
  );
  const { byField } = splitErrors(rotate.error, ['grace_seconds']);
  const example = curlExample(job);
  return (
    <section aria-labelledby="webhook-title" class="card">
      <h2 id="webhook-title">Webhook</h2>
      <dl class="fields">
        <dt>URL</dt>
        <dd>
          <code class="wrap">{job.webhook_url}</code>{' '}
          {job.webhook_url && <CopyButton text={job.webhook_url} label="Copy URL" />}
        </dd>
        <dt>Secret last rotated</dt>
        <dd>{job.webhook_secret_rotated_at ? <Instant iso={job.webhook_secret_rotated_at} /> : 'never'}</dd>
        <dt>Latest delivery signed with</dt>
        <dd>
          {job.webhook_last_secret_used ? `the ${job.webhook_last_secret_used} secret` : 'no delivery yet'}
        </dd>
      </dl>
      <h3>Send a signed delivery</h3>
      <pre class="code">{example}</pre>
      <CopyButton text={example} label="Copy example" />
      <h3>Rotate the secret</h3>
      {rotation && (
        <>
          <SecretOnce label="New webhook secret" value={rotation.webhook_secret} />
          <p>
            {rotation.previous_secret_valid_until ? (
              <>
                The previous secret keeps working until <Instant iso={rotation.previous_secret_valid_until} />
                .
              </>
            ) : (
              'The previous secret no longer works.'
            )}
          </p>
        </>
      )}
      <ErrorMessage error={!byField.grace_seconds ? rotate.error : null} />
      <div class="row end">
        <Field
          id="rotate-grace"
          label="Grace period (seconds)"
          error={byField.grace_seconds}
          hint="How long the old secret keeps working; 0 revokes it now."
        >
          {(aria) => (
            <input
              {...aria}
              type="number"
              min={0}
              inputMode="numeric"
              value={grace}
              onInput={(event) => setGrace(event.currentTarget.value)}
            />
          )}
        </Field>
        <ConfirmButton
          label="Rotate secret"
          question="Issue a new webhook secret? Senders must switch to it before the grace period ends."
          confirmLabel="Rotate secret"
          disabled={rotate.busy}
          onConfirm={async () => {
            const result = await rotate.run(Number(grace));
            if (result) {
              setRotation(result);
              onRotated();
            }
          }}
        />
      </div>
    </section>
  );
}

/** A cron job's schedule in words, its next fire in its zone and the viewer's, and the fires after it. */
function CronPanel({ job }: { job: Job }) {
  const { api } = useSession();
  const preview = useLoader(
    () => api.client.jobs.previewSchedule(job.cron_schedule ?? '', job.cron_timezone, 5),
    [job.cron_schedule, job.cron_timezone],
  );
  const words = job.cron_schedule ? cronInWords(job.cron_schedule) : null;
  return (
    <section aria-labelledby="schedule-title" class="card">
      <h2 id="schedule-title">Schedule</h2>
      <p>
        Runs {words ?? job.cron_schedule} ({job.cron_timezone} time): <code>{job.cron_schedule}</code>
      </p>
      <dl class="fields">
        <dt>Next fire</dt>
        <dd>
          {job.next_run_at ? (
            <>
              {formatInstant(job.next_run_at, job.cron_timezone)}
              <span class="muted block">{formatInstant(job.next_run_at)} your time</span>
            </>
          ) : (
            'none while disabled'
          )}
        </dd>
        <dt>EventBridge expression</dt>
        <dd class="mono">{(job.schedule_expression ?? []).join(' · ') || '—'}</dd>
      </dl>
      {preview.data && (
        <>
          <h3>Following fires</h3>
          <ol class="fires">
            {preview.data.fires.map((fire) => (
              <li key={fire.utc}>
                <span class="mono">{fire.local.replace('T', ' ')}</span>
                <span class="muted"> · {formatInstant(fire.utc)} your time</span>
                {fire.repeated_local_time && <span class="tag warn">repeated local time</span>}
              </li>
            ))}
          </ol>
          {preview.data.skipped.map((skip) => (
            <p key={skip.local}>
              <span class="tag warn">skipped</span> <span class="mono">{skip.local.replace('T', ' ')}</span>{' '}
              does not exist in {job.cron_timezone}.
            </p>
          ))}
        </>
      )}
    </section>
  );
}

function Details({ job }: { job: Job }) {
  const rows: [string, ComponentChildren][] = [
    ['Id', <code key="id">{job.id}</code>],
    ['Description', job.description ?? '—'],
    ['Trigger', job.trigger_type],
    ['Planning mode', job.planning_mode],
    [
      'Entity',
      job.entity_id ? (
        <a key="entity" href={links.entity(job.entity_id)}>
          {job.entity_type} {job.entity_id}
        </a>
      ) : (
        "the deployment's default"
      ),
    ],
    ['Executor', job.executor_type],
    ['Worker queue', job.worker_queue_name ?? '—'],
    ['Environment', job.environment_name ?? '—'],
    ['Time zone', job.cron_timezone],
    ['Created', <Instant key="c" iso={job.created_at} />],
    ['Updated', <Instant key="u" iso={job.updated_at} />],
  ];
  return (
    <section aria-labelledby="details-title" class="card">
      <h2 id="details-title">Details</h2>
      <dl class="fields">
        {rows.map(([name, value]) => (
          <Fragment key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </Fragment>
        ))}
      </dl>
      <h3>Prompt template</h3>
      <pre class="code">{job.prompt_template}</pre>
      {job.system_prompt && (
        <>
          <h3>System prompt</h3>
          <pre class="code">{job.system_prompt}</pre>
        </>
      )}
      <h3>Config</h3>
      <pre class="code">{formatJson(job.config)}</pre>
      <h3>Execution environment</h3>
      <pre class="code">{formatJson(job.execution_environment)}</pre>
    </section>
  );
}

/** One job: its fields, actions, recent runs, Run now, schedule or webhook, and history. */
export function JobView({ jobId }: { jobId: string }) {
  const { api } = useSession();
  const [version, setVersion] = useState(0);
  const bump = () => setVersion((value) => value + 1);
  const loaded = useLoader(() => api.client.jobs.get(jobId), [jobId], {
    pollMs: 15_000,
    refreshKey: version,
  });
  const [secret] = useState(() => flash.take(jobId));
  const toggle = useAction(async (enable: boolean) =>
    enable ? api.client.jobs.enable(jobId) : api.client.jobs.disable(jobId),
  );
  const remove = useAction(async () => {
    await api.client.jobs.delete(jobId);
    return true;
  });
  useNow();
  const heading = useFocusHeading(jobId);
  const job = loaded.data;

  if (!job) {
    return (
      <section>
        <p class="crumbs">
          <a href={links.jobs()}>Jobs</a>
        </p>
        <h1 ref={heading} tabIndex={-1}>
          Job
        </h1>
        {loaded.error instanceof NotFoundError ? (
          <p class="notice" role="alert">
            No job {jobId}: it may have been deleted.
          </p>
        ) : loaded.error ? (
          <ErrorMessage error={loaded.error} />
        ) : (
          <p class="muted">Loading…</p>
        )}
      </section>
    );
  }

  return (
    <section>
      <p class="crumbs">
        <a href={links.jobs()}>Jobs</a>
      </p>
      <div class="title-row">
        <h1 ref={heading} tabIndex={-1}>
          {job.name}
        </h1>
        <EnabledBadge enabled={job.enabled} />
      </div>
      <div class="actions toolbar">
        <JumpButton targetId="run-now" class="primary">
          Run now…
        </JumpButton>
        <a class="button secondary" href={links.editJob(job.id)}>
          Edit
        </a>
        <button
          type="button"
          class="secondary"
          disabled={toggle.busy}
          onClick={async () => {
            if (await toggle.run(!job.enabled)) bump();
          }}
        >
          {job.enabled ? 'Disable' : 'Enable'}
        </button>
        <ConfirmButton
          label="Delete"
          danger
          question={`Delete the job “${job.name}”? Its schedule stops and it cannot be run again.`}
          confirmLabel="Delete job"
          onConfirm={async () => {
            if (await remove.run()) navigate(links.jobs());
          }}
        />
      </div>
      <ErrorMessage error={toggle.error ?? remove.error ?? loaded.error} />
      {secret && <SecretOnce label={secret.label} value={secret.value} />}
      <RunStrip job={job} version={version} />
      <div class="columns">
        <RunNowForm job={job} onStarted={bump} />
        {job.trigger_type === 'cron' && <CronPanel job={job} />}
        {job.trigger_type === 'webhook' && <WebhookPanel job={job} onRotated={bump} />}
      </div>
      <Details job={job} />
      <RunHistory job={job} version={version} />
    </section>
  );
}

import { useState } from 'preact/hooks';
import { type Execution, type ExecutionStatus, NotFoundError } from '../../sdk/browser.js';
import { ConfirmButton, ErrorMessage, Instant, StatusBadge, useFocusHeading } from '../components.js';
import { formatDuration, formatJson } from '../format.js';
import { useAction, useLoader, useNow, useSession } from '../hooks.js';
import { links, navigate } from '../router.js';

/** Statuses a run never leaves (the service's own list lives with its zod schemas, kept out of the page). */
export const FINISHED_STATUSES: readonly ExecutionStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
];
const ACTIVE_POLL_MS = 1_500;

function Timeline({ run, now }: { run: Execution; now: number }) {
  const finished = FINISHED_STATUSES.includes(run.status);
  return (
    <ol class="timeline">
      <li class="done">
        <strong>Queued</strong> <Instant iso={run.created_at} now={now} />
      </li>
      <li class={run.started_at ? 'done' : 'pending'}>
        <strong>Running</strong>{' '}
        {run.started_at ? <Instant iso={run.started_at} now={now} /> : <span class="muted">not yet</span>}
        {run.lateness_ms !== null && (
          <span class="muted block">{formatDuration(run.lateness_ms)} after its scheduled time</span>
        )}
      </li>
      <li class={finished ? 'done' : 'pending'}>
        <strong>Finished</strong>{' '}
        {run.finished_at ? <Instant iso={run.finished_at} now={now} /> : <span class="muted">not yet</span>}
        {run.duration_ms !== null && <span class="muted block">took {formatDuration(run.duration_ms)}</span>}
      </li>
    </ol>
  );
}

function callbackState(run: Execution): string {
  if (FINISHED_STATUSES.includes(run.status)) return 'Closed: the run has finished, so no callback is taken.';
  if (run.status === 'running' && run.deadline_at) {
    return 'Open: a target that accepted the run (202) may call back with its result until the deadline.';
  }
  return 'Not yet: the run has not reached its target.';
}

/** One run: status, timeline, trigger, parameters, rendered prompt, output or error; Cancel and Replay. */
export function RunView({ jobId, executionId }: { jobId: string; executionId: string }) {
  const { api } = useSession();
  const [version, setVersion] = useState(0);
  const loaded = useLoader(() => api.client.jobs.getExecution(jobId, executionId), [jobId, executionId], {
    pollMs: (run) => (run && FINISHED_STATUSES.includes(run.status) ? null : ACTIVE_POLL_MS),
    refreshKey: version,
  });
  const cancel = useAction(() => api.client.jobs.cancelExecution(jobId, executionId));
  const replay = useAction(() => api.replay(jobId, executionId));
  const now = useNow(5_000);
  const heading = useFocusHeading(executionId);
  const run = loaded.data;

  if (!run) {
    return (
      <section>
        <p class="crumbs">
          <a href={links.jobs()}>Jobs</a> / <a href={links.job(jobId)}>{jobId}</a>
        </p>
        <h1 ref={heading} tabIndex={-1}>
          Run {executionId}
        </h1>
        {loaded.error instanceof NotFoundError ? (
          <p class="notice" role="alert">
            No run {executionId} of job {jobId}.
          </p>
        ) : loaded.error ? (
          <ErrorMessage error={loaded.error} />
        ) : (
          <p class="muted">Loading…</p>
        )}
      </section>
    );
  }

  const active = run.status === 'queued' || run.status === 'running';
  const replayOf = run.replay_of;
  const webhook = (run.metadata as { webhook?: { delivery_id?: unknown; scheme?: unknown } }).webhook;
  return (
    <section>
      <p class="crumbs">
        <a href={links.jobs()}>Jobs</a> / <a href={links.job(jobId)}>{run.job_name}</a>
      </p>
      <div class="title-row">
        <h1 ref={heading} tabIndex={-1}>
          Run <span class="mono">{run.execution_id}</span>
        </h1>
        <span class="big-status" aria-live="polite">
          <StatusBadge status={run.status} />
        </span>
      </div>
      <div class="actions toolbar">
        {active && (
          <ConfirmButton
            label="Cancel run"
            danger
            question="Cancel this run? A target already working on it is not stopped, but its result is ignored."
            confirmLabel="Cancel run"
            disabled={cancel.busy}
            onConfirm={async () => {
              if (await cancel.run()) setVersion((value) => value + 1);
            }}
          />
        )}
        <button
          type="button"
          class="secondary"
          disabled={replay.busy}
          onClick={async () => {
            const started = await replay.run();
            if (started) navigate(links.run(jobId, started.execution_id));
          }}
        >
          Replay
        </button>
      </div>
      <ErrorMessage error={cancel.error} />
      <ErrorMessage error={replay.error} />
      {loaded.error && <ErrorMessage error={loaded.error} title="Could not refresh:" />}

      <div class="columns">
        <section aria-labelledby="timeline-title" class="card">
          <h2 id="timeline-title">Timeline</h2>
          <Timeline run={run} now={now} />
          <dl class="fields">
            <dt>Attempts</dt>
            <dd>
              {run.attempt} of {run.max_attempts}
            </dd>
            <dt>Deadline</dt>
            <dd>
              <Instant iso={run.deadline_at} />
            </dd>
            <dt>Callback</dt>
            <dd>{callbackState(run)}</dd>
          </dl>
        </section>
        <section aria-labelledby="trigger-title" class="card">
          <h2 id="trigger-title">Trigger</h2>
          <dl class="fields">
            <dt>Started by</dt>
            <dd>{run.trigger_type}</dd>
            {run.scheduled_at && (
              <>
                <dt>Scheduled for</dt>
                <dd>
                  <Instant iso={run.scheduled_at} />
                </dd>
              </>
            )}
            {webhook?.delivery_id !== undefined && (
              <>
                <dt>Webhook delivery</dt>
                <dd class="mono">{String(webhook.delivery_id ?? 'none (no delivery id sent)')}</dd>
              </>
            )}
            {run.dedupe_key && (
              <>
                <dt>Dedupe key</dt>
                <dd class="mono">{run.dedupe_key}</dd>
              </>
            )}
            {replayOf && (
              <>
                <dt>Replay of</dt>
                <dd>
                  <a class="mono" href={links.run(jobId, replayOf)}>
                    {replayOf}
                  </a>
                </dd>
              </>
            )}
            <dt>Entity</dt>
            <dd>
              <a href={links.entity(run.entity_id)}>
                {run.entity_type} {run.entity_id}
              </a>
            </dd>
            <dt>Queue</dt>
            <dd>{run.queue}</dd>
          </dl>
          <h3>Metadata</h3>
          <pre class="code">{formatJson(run.metadata)}</pre>
        </section>
      </div>

      {run.error_message && (
        <section aria-labelledby="error-title" class="card">
          <h2 id="error-title">Error</h2>
          <pre class="code error-text">{run.error_message}</pre>
        </section>
      )}
      <section aria-labelledby="prompt-title" class="card">
        <h2 id="prompt-title">Rendered prompt</h2>
        <pre class="code" data-testid="rendered-prompt">
          {run.prompt}
        </pre>
        {run.system_prompt && (
          <>
            <h3>System prompt</h3>
            <pre class="code">{run.system_prompt}</pre>
          </>
        )}
      </section>
      <div class="columns">
        <section aria-labelledby="parameters-title" class="card">
          <h2 id="parameters-title">Parameters</h2>
          <pre class="code">{formatJson(run.parameters)}</pre>
          <h3>Config (with the run's override)</h3>
          <pre class="code">{formatJson(run.config)}</pre>
        </section>
        <section aria-labelledby="output-title" class="card">
          <h2 id="output-title">Output</h2>
          {run.output === null || run.output === undefined ? (
            <p class="muted">{active ? 'No output yet.' : 'No output.'}</p>
          ) : (
            <pre class="code">{formatJson(run.output)}</pre>
          )}
          {run.output_truncated && <p class="notice">The output was cut to the size the service keeps.</p>}
        </section>
      </div>
    </section>
  );
}

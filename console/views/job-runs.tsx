import { useState } from 'preact/hooks';
import type { Execution, Job } from '../../sdk/browser.js';
import { Empty, ErrorMessage, JumpButton, LiveNote, STATUS_LOOK, StatusBadge } from '../components.js';
import { formatDuration, formatInstant, formatRelative } from '../format.js';
import { useLoader, useNow, useSession } from '../hooks.js';
import { links } from '../router.js';

const STRIP_RUNS = 50;
const HISTORY_PAGE = 25;
const REFRESH_MS = 5_000;

function describeRun(run: Execution): string {
  const parts = [STATUS_LOOK[run.status].label, formatInstant(run.created_at)];
  if (run.duration_ms !== null) parts.push(`took ${formatDuration(run.duration_ms)}`);
  if (run.lateness_ms !== null && run.trigger_type === 'cron')
    parts.push(`${formatDuration(run.lateness_ms)} late`);
  return parts.join(', ');
}

/** The last 50 runs as a strip of squares, oldest to newest: colour and icon per status, each a link. */
export function RunStrip({ job, version }: { job: Job; version: number }) {
  const { api } = useSession();
  const runs = useLoader(() => api.client.jobs.getExecutions(job.id, { limit: STRIP_RUNS }), [job.id], {
    pollMs: REFRESH_MS,
    refreshKey: version,
  });
  if (!runs.data)
    return runs.error ? <ErrorMessage error={runs.error} /> : <p class="muted">Loading runs…</p>;
  const items = [...runs.data.executions].reverse();
  return (
    <section aria-labelledby="strip-title">
      <h2 id="strip-title">Last {STRIP_RUNS} runs</h2>
      {items.length === 0 ? (
        <Empty>
          No runs yet —{' '}
          <JumpButton targetId="run-now" class="link">
            Run now
          </JumpButton>
        </Empty>
      ) : (
        <>
          <ol class="strip" aria-label={`The last ${items.length} runs, oldest first`}>
            {items.map((run) => (
              <li key={run.execution_id}>
                <a
                  class={`cell status-${run.status}`}
                  href={links.run(job.id, run.execution_id)}
                  title={describeRun(run)}
                >
                  <span aria-hidden="true">{STATUS_LOOK[run.status].icon}</span>
                  <span class="visually-hidden">{describeRun(run)}</span>
                </a>
              </li>
            ))}
          </ol>
          <LiveNote updatedAt={runs.updatedAt} />
        </>
      )}
    </section>
  );
}

/** The job's history, newest first, a page at a time (following `next_cursor`); the first page refreshes. */
export function RunHistory({ job, version }: { job: Job; version: number }) {
  const { api } = useSession();
  // Cursors of the pages before the current one; the current page's cursor is the last.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoader(
    () =>
      api.client.jobs.getExecutions(job.id, {
        limit: HISTORY_PAGE,
        ...(cursor !== undefined && { cursor }),
      }),
    [job.id, cursor],
    { pollMs: cursor === undefined ? REFRESH_MS : undefined, refreshKey: version },
  );
  const now = useNow();
  const data = page.data;
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ErrorMessage error={page.error} />
      {!data ? (
        <p class="muted">Loading…</p>
      ) : data.executions.length === 0 && cursors.length === 1 ? (
        <Empty>
          No runs yet —{' '}
          <JumpButton targetId="run-now" class="link">
            Run now
          </JumpButton>
        </Empty>
      ) : (
        <>
          <p class="muted">
            {data.total_count} run{data.total_count === 1 ? '' : 's'} in all · page {cursors.length}
          </p>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Runs of {job.name}, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Started</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Late by</th>
                  <th scope="col">Attempt</th>
                </tr>
              </thead>
              <tbody>
                {data.executions.map((run) => (
                  <tr key={run.execution_id}>
                    <th scope="row">
                      <a class="mono" href={links.run(job.id, run.execution_id)}>
                        {run.execution_id}
                      </a>
                    </th>
                    <td>
                      <StatusBadge status={run.status} />
                    </td>
                    <td>{run.trigger_type}</td>
                    <td>
                      <time dateTime={run.created_at} title={formatInstant(run.created_at)}>
                        {formatRelative(run.created_at, now)}
                      </time>
                    </td>
                    <td>{formatDuration(run.duration_ms)}</td>
                    <td>{run.trigger_type === 'cron' ? formatDuration(run.lateness_ms) : '—'}</td>
                    <td>
                      {run.attempt} of {run.max_attempts}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="actions" aria-label="History pages">
            <button
              type="button"
              class="secondary"
              disabled={cursors.length === 1}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Newer runs
            </button>
            <button
              type="button"
              class="secondary"
              disabled={data.next_cursor === null}
              onClick={() => data.next_cursor && setCursors([...cursors, data.next_cursor])}
            >
              Older runs
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

import { useState } from 'preact/hooks';
import type { ExecutionStatus } from '../../sdk/browser.js';
import { Empty, ErrorMessage, LiveNote, STATUS_LOOK, StatusBadge, useFocusHeading } from '../components.js';
import { formatDuration, formatInstant, formatRelative } from '../format.js';
import { useLoader, useNow, useSession } from '../hooks.js';
import { links, navigate } from '../router.js';

const STATUSES = Object.keys(STATUS_LOOK) as ExecutionStatus[];
const PROBLEMS: ExecutionStatus[] = ['failed', 'timed_out'];
const PAGE = 50;

/** Runs across every job, newest first, filtered by status (`GET /executions`). */
export function RunsView({ query }: { query: URLSearchParams }) {
  const { api } = useSession();
  const statuses = (query.get('status') ?? '')
    .split(',')
    .filter((status): status is ExecutionStatus => STATUSES.includes(status as ExecutionStatus));
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const key = statuses.join(',');
  const page = useLoader(
    () => api.listRuns({ status: statuses, limit: PAGE, ...(cursor !== undefined && { cursor }) }),
    [key, cursor],
    { pollMs: cursor === undefined ? 5_000 : undefined },
  );
  const now = useNow();
  const heading = useFocusHeading('runs');

  const show = (next: ExecutionStatus[]) => {
    setCursors([undefined]);
    const params = new URLSearchParams();
    if (next.length > 0) params.set('status', next.join(','));
    navigate(links.runs(params), { replace: true });
  };
  const toggle = (status: ExecutionStatus, on: boolean) =>
    show(on ? [...statuses, status] : statuses.filter((item) => item !== status));

  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        Runs
      </h1>
      <fieldset class="filters">
        <legend>Status</legend>
        <button type="button" class="secondary small" onClick={() => show(PROBLEMS)}>
          Failed and timed out
        </button>
        <button type="button" class="secondary small" onClick={() => show([])}>
          All
        </button>
        {STATUSES.map((status) => (
          <label class="choice" key={status}>
            <input
              type="checkbox"
              checked={statuses.includes(status)}
              onChange={(event) => toggle(status, event.currentTarget.checked)}
            />{' '}
            {STATUS_LOOK[status].label}
          </label>
        ))}
      </fieldset>
      <ErrorMessage error={page.error} />
      {page.data && (
        <>
          <LiveNote updatedAt={page.updatedAt} />
          {page.data.executions.length === 0 ? (
            <Empty>
              {statuses.length > 0
                ? 'No runs with these statuses.'
                : 'No runs yet — run a job from its page.'}
            </Empty>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Runs across jobs, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Status</th>
                    <th scope="col">Trigger</th>
                    <th scope="col">Started</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Run</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.executions.map((run) => (
                    <tr key={run.execution_id}>
                      <th scope="row">
                        <a href={links.job(run.job_id)}>{run.job_name}</a>
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
                      <td>
                        <a class="mono" href={links.run(run.job_id, run.execution_id)}>
                          {run.execution_id}
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav class="actions" aria-label="Run pages">
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
              disabled={page.data.next_cursor === null}
              onClick={() => page.data?.next_cursor && setCursors([...cursors, page.data.next_cursor])}
            >
              Older runs
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

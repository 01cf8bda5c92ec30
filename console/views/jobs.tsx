import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Job, TriggerType } from '../../sdk/browser.js';
import { Empty, EnabledBadge, ErrorMessage, LiveNote, StatusBadge, useFocusHeading } from '../components.js';
import { cronInWords } from '../cron-words.js';
import { formatInstant, formatRelative, successShare } from '../format.js';
import { useErrorHandler, useNow, useSession } from '../hooks.js';
import { JobStatsStore, useJobStats } from '../job-stats.js';
import { links, navigate } from '../router.js';

/** Rows per page of the table. */
export const JOBS_PAGE_SIZE = 50;
/** The list refreshes this often while open (and the tab visible). */
const REFRESH_MS = 10_000;
const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

interface ListState {
  jobs: Job[];
  cursor: string | null;
  loaded: boolean;
  error: unknown;
  updatedAt: number | null;
}

const EMPTY: ListState = { jobs: [], cursor: null, loaded: false, error: null, updatedAt: null };

/**
 * The loaded pages of `GET /jobs` for the filters: the first page on open, one more per "Load more",
 * and every loaded page re-read in place on each refresh (same rows, same count, same cursor), so the
 * user keeps their place.
 */
function useJobPages(filters: { trigger_type?: TriggerType; enabled?: boolean }) {
  const { api } = useSession();
  const handle = useErrorHandler();
  const [state, setState] = useState<ListState>(EMPTY);
  const [busy, setBusy] = useState(false);
  // Bumped by every change of the list; a refresh that finishes after one is dropped.
  const version = useRef(0);
  const stateRef = useRef(state);
  stateRef.current = state;
  const key = JSON.stringify(filters);

  const readFirst = async () => {
    const mine = ++version.current;
    try {
      const page = await api.client.jobs.listPage({ ...filters, limit: JOBS_PAGE_SIZE });
      if (mine !== version.current) return;
      setState({
        jobs: page.jobs,
        cursor: page.next_cursor,
        loaded: true,
        error: null,
        updatedAt: Date.now(),
      });
    } catch (error) {
      if (mine === version.current) setState({ ...EMPTY, loaded: true, error: handle(error) });
    }
  };

  const loadMore = async () => {
    const { cursor, jobs } = stateRef.current;
    if (cursor === null) return;
    const mine = ++version.current;
    setBusy(true);
    try {
      const page = await api.client.jobs.listPage({ ...filters, limit: JOBS_PAGE_SIZE, cursor });
      if (mine !== version.current) return;
      // A refresh that started while this page was on its way read fewer rows: it must not land.
      version.current++;
      const seen = new Set(jobs.map((job) => job.id));
      setState({
        ...stateRef.current,
        jobs: [...jobs, ...page.jobs.filter((job) => !seen.has(job.id))],
        cursor: page.next_cursor,
        error: null,
      });
    } catch (error) {
      if (mine === version.current) setState({ ...stateRef.current, error: handle(error) });
    } finally {
      setBusy(false);
    }
  };

  const refresh = async () => {
    const wanted = Math.max(stateRef.current.jobs.length, JOBS_PAGE_SIZE);
    const mine = version.current;
    const jobs: Job[] = [];
    let cursor: string | undefined;
    let next: string | null = null;
    try {
      do {
        const page = await api.client.jobs.listPage({
          ...filters,
          limit: Math.min(100, wanted - jobs.length),
          ...(cursor !== undefined && { cursor }),
        });
        jobs.push(...page.jobs);
        next = page.next_cursor;
        cursor = next ?? undefined;
      } while (next !== null && jobs.length < wanted);
      if (mine !== version.current) return;
      setState({ jobs, cursor: next, loaded: true, error: null, updatedAt: Date.now() });
    } catch (error) {
      if (mine === version.current) setState({ ...stateRef.current, error: handle(error) });
    }
  };

  useEffect(() => {
    setState(EMPTY);
    void readFirst();
  }, [key]);

  return { state, busy, loadMore, refresh };
}

/** Calls `tick` every `ms` while the tab is visible, and at once when it becomes visible again. */
function useVisibleInterval(tick: () => void, ms: number) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      clearInterval(timer);
      timer = setInterval(() => latest.current(), ms);
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') {
        latest.current();
        start();
      } else {
        clearInterval(timer);
      }
    };
    if (document.visibilityState === 'visible') start();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [ms]);
}

function parseFilters(query: URLSearchParams) {
  const trigger = query.get('trigger_type');
  const enabled = query.get('enabled');
  return {
    trigger_type: (['cron', 'webhook', 'manual'].includes(trigger ?? '') ? trigger : undefined) as
      | TriggerType
      | undefined,
    enabled: enabled === 'true' ? true : enabled === 'false' ? false : undefined,
    q: query.get('q') ?? '',
  };
}

/** The table of every job, with filters, name search, lazy per-row run statistics and paging. */
export function JobsView({ query }: { query: URLSearchParams }) {
  const { api } = useSession();
  const { trigger_type, enabled, q } = parseFilters(query);
  const filters = useMemo(
    () => ({
      ...(trigger_type !== undefined && { trigger_type }),
      ...(enabled !== undefined && { enabled }),
    }),
    [trigger_type, enabled],
  );
  const { state, busy, loadMore, refresh } = useJobPages(filters);
  const stats = useMemo(() => new JobStatsStore(api), [api]);
  useEffect(() => () => stats.dispose(), [stats]);
  useVisibleInterval(() => {
    void refresh();
    stats.refreshVisible();
  }, REFRESH_MS);
  const now = useNow();
  const heading = useFocusHeading('jobs');

  const setQuery = (name: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value === '') next.delete(name);
    else next.set(name, value);
    navigate(links.jobs(next), { replace: true });
  };

  const needle = q.trim().toLowerCase();
  const shown = needle ? state.jobs.filter((job) => job.name.toLowerCase().includes(needle)) : state.jobs;
  const filtered = trigger_type !== undefined || enabled !== undefined || needle !== '';

  return (
    <section>
      <div class="title-row">
        <h1 ref={heading} tabIndex={-1}>
          Jobs
        </h1>
        <a class="button primary" href={links.newJob()}>
          New job
        </a>
      </div>
      <form class="filters" aria-label="Filter jobs" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="filter-trigger">Trigger type</label>
          <select
            id="filter-trigger"
            value={trigger_type ?? ''}
            onChange={(e) => setQuery('trigger_type', e.currentTarget.value)}
          >
            <option value="">All</option>
            <option value="cron">cron</option>
            <option value="webhook">webhook</option>
            <option value="manual">manual</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-enabled">Enabled</label>
          <select
            id="filter-enabled"
            value={enabled === undefined ? '' : String(enabled)}
            onChange={(e) => setQuery('enabled', e.currentTarget.value)}
          >
            <option value="">All</option>
            <option value="true">enabled</option>
            <option value="false">disabled</option>
          </select>
        </div>
        <div class="field grow">
          <label for="filter-name">Search by name</label>
          <input
            id="filter-name"
            type="search"
            value={q}
            onInput={(e) => setQuery('q', e.currentTarget.value)}
            autoComplete="off"
          />
        </div>
      </form>
      <ErrorMessage error={state.error} />
      <LiveNote updatedAt={state.updatedAt} />
      {!state.loaded ? (
        <p class="muted">Loading jobs…</p>
      ) : state.jobs.length === 0 && !filtered && !state.error ? (
        <Empty>
          No jobs yet — <a href={links.newJob()}>create your first job</a>.
        </Empty>
      ) : (
        <>
          <p class="muted" aria-live="polite">
            {needle
              ? `${shown.length} of ${state.jobs.length} loaded jobs match “${q}”${state.cursor ? '; load more to search further' : ''}.`
              : `${state.jobs.length} job${state.jobs.length === 1 ? '' : 's'}${state.cursor ? ' loaded; more below' : ''}.`}
          </p>
          {shown.length === 0 ? (
            <Empty>No jobs match these filters.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="jobs">
                <caption class="visually-hidden">Jobs, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Trigger</th>
                    <th scope="col">State</th>
                    <th scope="col">Schedule</th>
                    <th scope="col">Next fire</th>
                    <th scope="col">Last run</th>
                    <th scope="col">Succeeded</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((job) => (
                    <JobRow key={job.id} job={job} stats={stats} now={now} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {state.cursor !== null && (
            <div class="actions">
              <button type="button" class="secondary" onClick={loadMore} disabled={busy}>
                {busy ? 'Loading…' : `Load ${JOBS_PAGE_SIZE} more jobs`}
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function JobRow({ job, stats, now }: { job: Job; stats: JobStatsStore; now: number }) {
  const row = useRef<HTMLTableRowElement>(null);
  const recent = useJobStats(stats, job.id, row);
  const share = recent ? successShare(recent.statuses) : null;
  const words = job.trigger_type === 'cron' && job.cron_schedule ? cronInWords(job.cron_schedule) : null;
  return (
    <tr ref={row} data-job-id={job.id}>
      <th scope="row">
        <a href={links.job(job.id)}>{job.name}</a>
      </th>
      <td>{job.trigger_type}</td>
      <td>
        <EnabledBadge enabled={job.enabled} />
      </td>
      <td>
        {job.trigger_type === 'cron' ? (
          <>
            {words ?? job.cron_schedule}
            <span class="muted block mono">
              {job.cron_schedule} · {job.cron_timezone}
            </span>
          </>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td>
        {job.next_run_at ? (
          <>
            {formatInstant(job.next_run_at, job.cron_timezone)}
            {job.cron_timezone !== viewerZone && (
              <span class="muted block">{formatInstant(job.next_run_at)} your time</span>
            )}
          </>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td>
        {recent === undefined ? (
          <span class="muted">…</span>
        ) : recent.last === null ? (
          <span class="muted">no runs yet</span>
        ) : (
          <a href={links.run(job.id, recent.last.executionId)} class="plain">
            <StatusBadge status={recent.last.status} />
            <span class="muted block">
              <time dateTime={recent.last.at} title={recent.last.at}>
                {formatRelative(recent.last.at, now)}
              </time>
            </span>
          </a>
        )}
      </td>
      <td>
        {share === null ? (
          <span class="muted">—</span>
        ) : (
          <span title={`of the last ${share.of} finished runs`}>
            {share.percent}% <span class="muted">of {share.of}</span>
          </span>
        )}
      </td>
    </tr>
  );
}

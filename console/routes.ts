/** The console's routes: pure, so the unit tests read them without a DOM. */

/** Every view of the console, read from the URL's hash so the page itself is one URL (`/console`). */
export type Route =
  | { view: 'jobs'; query: URLSearchParams }
  | { view: 'job-new' }
  | { view: 'job'; jobId: string }
  | { view: 'job-edit'; jobId: string }
  | { view: 'run'; jobId: string; executionId: string }
  | { view: 'runs'; query: URLSearchParams }
  | { view: 'entities' }
  | { view: 'entity-new' }
  | { view: 'entity'; entityId: string }
  | { view: 'not-found'; hash: string };

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The route a hash names: `#/jobs?enabled=true`, `#/jobs/job_1/runs/exec_2`, `#/entities/new`… */
export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#/, '') || '/jobs';
  const mark = text.indexOf('?');
  const pathText = mark === -1 ? text : text.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : text.slice(mark + 1));
  const raw = pathText.split('/').filter(Boolean);
  const parts = raw.map(decode);
  if (parts.some((part) => part === null)) return { view: 'not-found', hash };
  const [first, second, third, fourth, ...rest] = parts as string[];
  if (rest.length > 0) return { view: 'not-found', hash };
  if (first === 'jobs') {
    if (second === undefined) return { view: 'jobs', query };
    if (second === 'new' && third === undefined) return { view: 'job-new' };
    if (third === undefined) return { view: 'job', jobId: second };
    if (third === 'edit' && fourth === undefined) return { view: 'job-edit', jobId: second };
    if (third === 'runs' && fourth !== undefined) return { view: 'run', jobId: second, executionId: fourth };
  }
  if (first === 'runs' && second === undefined) return { view: 'runs', query };
  if (first === 'entities') {
    if (second === undefined) return { view: 'entities' };
    if (second === 'new' && third === undefined) return { view: 'entity-new' };
    if (third === undefined) return { view: 'entity', entityId: second };
  }
  return { view: 'not-found', hash };
}

const enc = encodeURIComponent;

/** Links to each view, as `href` values. */
export const links = {
  jobs: (query?: URLSearchParams) => `#/jobs${query && query.size > 0 ? `?${query}` : ''}`,
  newJob: () => '#/jobs/new',
  job: (jobId: string) => `#/jobs/${enc(jobId)}`,
  editJob: (jobId: string) => `#/jobs/${enc(jobId)}/edit`,
  run: (jobId: string, executionId: string) => `#/jobs/${enc(jobId)}/runs/${enc(executionId)}`,
  runs: (query?: URLSearchParams) => `#/runs${query && query.size > 0 ? `?${query}` : ''}`,
  entities: () => '#/entities',
  newEntity: () => '#/entities/new',
  entity: (entityId: string) => `#/entities/${enc(entityId)}`,
};

/** Where the API is: the page is served at `<base>/console`, the API at `<base>`. */
export function apiBaseUrl(location: { origin: string; pathname: string }): string {
  return location.origin + location.pathname.replace(/\/console\/?$/, '');
}

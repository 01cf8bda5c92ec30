import type {
  CallbackRequest,
  Execution,
  ExecutionStatus,
  RecentExecutionListResponse,
} from '../shared/domain/execution.js';
import type { Transport } from './http.js';
import { type IterateOptions, paginate, path } from './paging.js';

/** Filters of `executions.listRecent` and `executions.iterateRecent`. */
export interface RecentExecutionsFilter {
  /** Only runs in this status, or in these: `['failed', 'timed_out']` lists what went wrong. */
  status?: ExecutionStatus | readonly ExecutionStatus[];
  /** Only runs of this job (`job_<uuid>`). */
  job_id?: string;
}

/** One page of `executions.listRecent`. */
export interface RecentExecutionsOptions extends RecentExecutionsFilter {
  /** Page size, 1–100. @default 50 */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/**
 * `client.executions`: runs across jobs, and what a target that accepted a run (202) calls to finish
 * it. Errors as for `client.jobs`.
 */
export class ExecutionsResource {
  /** @internal Built by `ControlPlaneClient`. */
  constructor(private readonly transport: Transport) {}

  /**
   * One page of runs of every job (or of `job_id`), newest first, optionally only in some statuses:
   * `GET /executions`, answering `{ executions, next_cursor }`. A page may be short, or empty, and
   * still have a `next_cursor`; only a null one ends the list (see `iterateRecent`). Retried (a read).
   * @throws ValidationError naming `status`, `job_id` or `limit`; ValidationError (400,
   *   `invalid_cursor`) for a cursor the service did not issue.
   * @example
   * const page = await client.executions.listRecent({ status: ['failed', 'timed_out'], limit: 20 });
   * for (const run of page.executions) console.log(run.job_name, run.status, run.error_message);
   */
  listRecent(options: RecentExecutionsOptions = {}): Promise<RecentExecutionListResponse> {
    const { status, ...rest } = options;
    const statuses = typeof status === 'string' ? [status] : (status ?? []);
    return this.transport.request('GET', '/executions', {
      query: { ...rest, ...(statuses.length > 0 && { status: statuses.join(',') }) },
    });
  }

  /**
   * Every run matching the filters, newest first, fetched a page at a time (`GET /executions`,
   * following `next_cursor`) as the loop asks. Retried.
   * @example
   * for await (const run of client.executions.iterateRecent({ status: 'failed' })) console.log(run.execution_id);
   */
  iterateRecent(
    options: RecentExecutionsFilter & IterateOptions = {},
  ): AsyncGenerator<Execution, void, undefined> {
    const { pageSize = 100, ...filter } = options;
    return paginate(async (cursor) => {
      const page = await this.listRecent({
        ...filter,
        limit: pageSize,
        ...(cursor !== undefined && { cursor }),
      });
      return { items: page.executions, next: page.next_cursor };
    });
  }

  /**
   * Finishes an accepted run: `POST /executions/{eid}/callback`, authenticated by the run's callback
   * `token` (from the request the target received) instead of the API key. Never retried: a second
   * callback is refused with a 409.
   * @throws AuthError for a wrong token or unknown execution; ConflictError when the run has ended.
   * @example
   * // In a target that answered 202: the run's id and callback token came in the request it received
   * const run = await client.executions.callback(executionId, callbackToken, {
   *   status: 'succeeded',
   *   output: { rows_backed_up: 1200 },
   * });
   * console.log(run.status); // succeeded
   */
  callback(executionId: string, token: string, body: CallbackRequest): Promise<Execution> {
    return this.transport.request('POST', path('executions', executionId, 'callback'), {
      body,
      auth: { bearer: token },
    });
  }
}

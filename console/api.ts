import {
  ControlPlaneClient,
  type Execution,
  type ExecutionStatus,
  JobError,
  NotFoundError,
  type TriggerResponse,
} from '../sdk/browser.js';
import { Transport } from '../sdk/http.js';

/** One page of `GET /executions`: runs across jobs, newest first. */
export interface RunsPage {
  executions: Execution[];
  next_cursor: string | null;
}

/** Query of `GET /executions`. */
export interface RunsQuery {
  status?: readonly ExecutionStatus[];
  job_id?: string;
  limit?: number;
  cursor?: string;
}

/** The answer of a replay: a trigger's, plus the run it replays. */
export type ReplayResponse = TriggerResponse & { replay_of?: string };

/** Thrown when the service answers 404 for a route it does not have yet. */
export class NeedsNewerServiceError extends JobError {
  override readonly name: string = 'NeedsNewerServiceError';
}

const API_KEY_STORAGE = 'serverless-jobs.console.api-key';

/** The key lives in this tab's `sessionStorage` only: gone when the tab closes, never sent elsewhere. */
export const keyStore = {
  load: (): string | null => sessionStorage.getItem(API_KEY_STORAGE),
  save: (key: string) => sessionStorage.setItem(API_KEY_STORAGE, key),
  forget: () => sessionStorage.removeItem(API_KEY_STORAGE),
};

const path = (...segments: string[]) => `/${segments.map(encodeURIComponent).join('/')}`;

/**
 * The console's client: the SDK's `ControlPlaneClient`, plus the two routes newer services have (runs
 * across jobs, replay), sent through the SDK's own transport so errors and retries behave the same.
 */
export class ConsoleApi {
  readonly client: ControlPlaneClient;
  private readonly transport: Transport;

  constructor(baseUrl: string, apiKey: string) {
    this.client = new ControlPlaneClient({ baseUrl, apiKey });
    this.transport = new Transport({
      baseUrl,
      apiKey,
      fetch: globalThis.fetch,
      timeoutMs: 30_000,
      maxRetries: 2,
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 30_000,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
    });
  }

  /**
   * `GET /executions`: runs across jobs, newest first. A 404 means the service predates the route (a
   * list has nothing else to be missing), reported as `NeedsNewerServiceError`.
   */
  async listRuns(query: RunsQuery): Promise<RunsPage> {
    try {
      return await this.transport.request<RunsPage>('GET', '/executions', {
        query: {
          status: query.status && query.status.length > 0 ? query.status.join(',') : undefined,
          job_id: query.job_id,
          limit: query.limit,
          cursor: query.cursor,
        },
      });
    } catch (error) {
      if (error instanceof NotFoundError) throw needsNewerService('Runs across jobs', error);
      throw error;
    }
  }

  /**
   * `POST /jobs/{id}/executions/{eid}/replay`: a new run with the same parameters and config override.
   * A 404 while the run itself still reads back means the service predates the route.
   */
  async replay(jobId: string, executionId: string): Promise<ReplayResponse> {
    try {
      return await this.transport.request<ReplayResponse>(
        'POST',
        path('jobs', jobId, 'executions', executionId, 'replay'),
      );
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      const stillThere = await this.client.jobs.getExecution(jobId, executionId).then(
        () => true,
        () => false,
      );
      throw stillThere ? needsNewerService('Replay', error) : error;
    }
  }
}

function needsNewerService(feature: string, cause: JobError): NeedsNewerServiceError {
  return new NeedsNewerServiceError(`${feature} needs a newer service: this one does not offer it yet.`, {
    status: cause.status,
    code: 'needs_newer_service',
    cause,
  });
}

import {
  ControlPlaneClient,
  type ExecutionStatus,
  type RecentExecutionListResponse,
  type TriggerResponse,
} from '../sdk/browser.js';

/** Query of `GET /executions`. */
export interface RunsQuery {
  status?: readonly ExecutionStatus[];
  job_id?: string;
  limit?: number;
  cursor?: string;
}

const API_KEY_STORAGE = 'serverless-jobs.console.api-key';

/** The key lives in this tab's `sessionStorage` only: gone when the tab closes, never sent elsewhere. */
export const keyStore = {
  load: (): string | null => sessionStorage.getItem(API_KEY_STORAGE),
  save: (key: string) => sessionStorage.setItem(API_KEY_STORAGE, key),
  forget: () => sessionStorage.removeItem(API_KEY_STORAGE),
};

/** The console's client: the SDK's `ControlPlaneClient`, with the two run calls the views name. */
export class ConsoleApi {
  readonly client: ControlPlaneClient;

  constructor(baseUrl: string, apiKey: string) {
    this.client = new ControlPlaneClient({ baseUrl, apiKey });
  }

  /** `GET /executions`: runs across jobs, newest first. */
  listRuns(query: RunsQuery): Promise<RecentExecutionListResponse> {
    return this.client.executions.listRecent(query);
  }

  /** `POST /jobs/{id}/executions/{eid}/replay`: a new run with the same parameters and config override. */
  replay(jobId: string, executionId: string): Promise<TriggerResponse> {
    return this.client.jobs.replayExecution(jobId, executionId);
  }
}

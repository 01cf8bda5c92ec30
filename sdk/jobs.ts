import type { AuditEntry } from '../shared/domain/audit.js';
import type { Execution, ExecutionListResponse, TriggerResponse } from '../shared/domain/execution.js';
import type {
  Job,
  JobCreateInput,
  JobListResponse,
  JobPatchInput,
  TriggerType,
} from '../shared/domain/job.js';
import type { Transport } from './http.js';
import { type IterateOptions, paginate, path } from './paging.js';

/** Filters of `jobs.list`, `jobs.listPage` and `jobs.iterate`. */
export interface JobListOptions {
  /** Only enabled (`true`) or only disabled (`false`) jobs. */
  enabled?: boolean;
  /** Only jobs with this trigger. */
  trigger_type?: TriggerType;
}

/** One page of `jobs.listPage`. */
export interface JobPageOptions extends JobListOptions {
  /** Page size, 1–100. @default 50 */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export type { IterateOptions };

/** Options of `jobs.trigger`. */
export interface TriggerOptions {
  /** Values for the prompt template's `{{ placeholders }}`. @default {} */
  parameters?: Record<string, unknown>;
  /** Overrides of the job's `config` for this run only (e.g. `{ timeout: 7200 }`). */
  config_override?: Record<string, unknown>;
  /**
   * Sent as `Idempotency-Key` (1–255 visible ASCII characters): repeating a trigger with the same key
   * returns the first execution instead of starting another. With a key the SDK retries the trigger
   * after a retryable failure; without one it never does (a retry could start a second run).
   */
  idempotency_key?: string;
}

/** Options of `jobs.getExecutions`. */
export interface ExecutionHistoryOptions {
  /** Page size, 1–100. @default 50 */
  limit?: number;
  /** Executions to skip, at most 1000 (deeper, follow `next_cursor`). @default 0 */
  offset?: number;
  /** `next_cursor` of a previous page, for deep paging. */
  cursor?: string;
}

/** Options of `jobs.triggerWebhook`. */
export interface WebhookDeliveryOptions {
  /** The path segment of the job's `webhook_url` (its `webhook_path`). */
  webhook_path: string;
  /** Sent exactly as given when a string or bytes, else as `JSON.stringify(payload)`. */
  payload: Record<string, unknown> | string | Uint8Array;
  /**
   * Hex HMAC-SHA256 of the payload bytes (see `signWebhookPayload`), sent as `X-Webhook-Signature`.
   * Leave it out when `headers` carry a Standard Webhooks signature (see `standardWebhookHeaders`).
   */
  signature?: string;
  /**
   * The delivery's id, sent as `X-Webhook-Id`: a redelivery with the same id returns the first run.
   * With an id (here, or `webhook-id` with Standard Webhooks headers, or `X-GitHub-Delivery`) the SDK
   * retries the delivery after a retryable failure; without one it never does.
   */
  delivery_id?: string;
  /** Further headers, e.g. the Standard Webhooks `webhook-id`, `webhook-timestamp`, `webhook-signature`. */
  headers?: Record<string, string>;
}

/** The answer of `jobs.rotateWebhookSecret`. */
export interface WebhookSecretRotation {
  /** The new secret, shown only in this answer. */
  webhook_secret: string;
  /** When the rotation happened (ISO 8601). */
  webhook_secret_rotated_at: string;
  /** Until when the replaced secret still verifies; `null` when it was revoked at once. */
  previous_secret_valid_until: string | null;
}

/** The answer of `jobs.previewSchedule`. */
export interface SchedulePreview {
  /** The cron expression previewed. */
  expression: string;
  /** The IANA timezone it was read in. */
  timezone: string;
  /** The EventBridge Scheduler expression(s) the schedule maps to. */
  schedule_expression: string[];
  /** The next fire times, local and UTC; `repeated_local_time` marks a wall time that occurs twice (fall back). */
  fires: { local: string; utc: string; repeated_local_time: boolean }[];
  /** Local times the expression names that the zone skips (spring forward): no fire then. */
  skipped: { local: string; reason: string }[];
}

/** One page of `jobs.history`. */
export interface JobHistoryResponse {
  /** This page's changes, newest first. */
  history: AuditEntry[];
  /** Pass as `cursor` for the next page; `null` on the last. */
  next_cursor: string | null;
}

/**
 * `client.jobs`: the reference SDK's jobs methods, plus execution paging, cancel, webhook secret
 * rotation and cron previews. Every method rejects with a `JobError` subclass: `AuthError` (401/403),
 * `NotFoundError` (404), `ValidationError` (400/422, fields in `details`), `ConflictError` (409),
 * `RateLimitedError` (429), `ServerError` (5xx), `NetworkError`/`TimeoutError` (no answer).
 */
export class JobsResource {
  /** @internal Built by `ControlPlaneClient`. */
  constructor(private readonly transport: Transport) {}

  /**
   * Every job matching the filters, newest first: `GET /jobs`, following `next_cursor` through all
   * pages. Retried (a read).
   * @example
   * const cronJobs = await client.jobs.list({ trigger_type: 'cron', enabled: true });
   * for (const job of cronJobs) console.log(job.id, job.name, job.next_run_at);
   */
  async list(options: JobListOptions = {}): Promise<Job[]> {
    const jobs: Job[] = [];
    for await (const job of this.iterate(options)) jobs.push(job);
    return jobs;
  }

  /**
   * Every job matching the filters, newest first, fetched a page at a time as the loop asks:
   * `for await (const job of client.jobs.iterate({ trigger_type: 'cron' }))`. `GET /jobs`; retried.
   * @example
   * for await (const job of client.jobs.iterate({ enabled: false, pageSize: 50 })) {
   *   console.log(`${job.name} is disabled`);
   * }
   */
  iterate(options: JobListOptions & IterateOptions = {}): AsyncGenerator<Job, void, undefined> {
    const { pageSize = 100, ...filters } = options;
    return paginate(async (cursor) => {
      const page = await this.listPage({ ...filters, limit: pageSize, cursor });
      return { items: page.jobs, next: page.next_cursor };
    });
  }

  /**
   * One page of jobs (`GET /jobs`); pass `next_cursor` back as `cursor` for the next. Retried.
   * @example
   * let cursor: string | undefined;
   * do {
   *   const page = await client.jobs.listPage({ trigger_type: 'webhook', limit: 100, cursor });
   *   for (const job of page.jobs) console.log(job.id, job.webhook_url);
   *   cursor = page.next_cursor ?? undefined;
   * } while (cursor !== undefined);
   */
  listPage(options: JobPageOptions = {}): Promise<JobListResponse> {
    return this.transport.request('GET', '/jobs', { query: { ...options } });
  }

  /**
   * One job: `GET /jobs/{id}`. Retried. @throws NotFoundError for an unknown id.
   * @example
   * const job = await client.jobs.get('job_0b7e1c2a-5d7f-4f0e-9a51-3c2d8e6f4a10');
   * console.log(job.name, job.enabled, job.trigger_type, job.next_run_at);
   */
  get(jobId: string): Promise<Job> {
    return this.transport.request('GET', path('jobs', jobId));
  }

  /**
   * Creates a job: `POST /jobs`. A webhook job's answer carries `webhook_secret`, shown only this once.
   * Never retried (a retry could create a second job).
   * @throws ValidationError naming each invalid field in `details[].path`.
   * @example
   * const job = await client.jobs.create({
   *   name: 'Nightly Backup',
   *   trigger_type: 'cron',
   *   cron_schedule: '0 2 * * *',
   *   cron_timezone: 'America/New_York',
   *   planning_mode: 'predefined_agent',
   *   entity_type: 'agent',
   *   entity_id: 'backup-agent',
   *   prompt_template: 'Perform full backup of {{ database }}',
   *   config: { timeout: 600, retry: { max_attempts: 3, backoff_seconds: 30 }, overlap_policy: 'skip' },
   * });
   * console.log(job.id, job.next_run_at);
   */
  create(jobData: JobCreateInput): Promise<Job> {
    return this.transport.request('POST', '/jobs', { body: jobData });
  }

  /**
   * Partial update: `PATCH /jobs/{id}`; only the given fields change, `null` clears an optional field.
   * Retried, as the same patch applied twice leaves the job as applied once, except a patch setting
   * `trigger_type: 'webhook'`: that can mint a webhook secret shown only in the first answer.
   * @throws NotFoundError, ValidationError, ConflictError (concurrent writers).
   * @example
   * const job = await client.jobs.update(jobId, { cron_schedule: '0 3 * * *', description: null });
   * console.log(job.cron_schedule, job.next_run_at);
   */
  update(jobId: string, jobData: JobPatchInput): Promise<Job> {
    return this.transport.request('PATCH', path('jobs', jobId), {
      body: jobData,
      idempotent: jobData.trigger_type !== 'webhook',
    });
  }

  /**
   * Deletes a job and its schedules: `DELETE /jobs/{id}`. Retried; a 404 on a retry counts as done
   * (the earlier attempt, whose answer was lost, deleted it).
   * @throws NotFoundError for an unknown id.
   * @example
   * await client.jobs.delete(jobId);
   */
  delete(jobId: string): Promise<void> {
    return this.transport.request('DELETE', path('jobs', jobId), {
      idempotent: true,
      notFoundOnRetryIsDone: true,
    });
  }

  /**
   * Enables a job (its schedule resumes): `POST /jobs/{id}/enable`. Retried (idempotent).
   * @example
   * const job = await client.jobs.enable(jobId);
   * console.log(job.enabled, job.next_run_at); // true, the next fire time of a cron job
   */
  enable(jobId: string): Promise<Job> {
    return this.transport.request('POST', path('jobs', jobId, 'enable'), { idempotent: true });
  }

  /**
   * Disables a job (no schedule, webhook or manual run starts it): `POST /jobs/{id}/disable`. Retried.
   * @example
   * const job = await client.jobs.disable(jobId);
   * console.log(job.enabled); // false: triggers and deliveries now answer 409
   */
  disable(jobId: string): Promise<Job> {
    return this.transport.request('POST', path('jobs', jobId, 'disable'), { idempotent: true });
  }

  /**
   * Runs the job now: `POST /jobs/{id}/trigger`; `parameters` fill the prompt template's
   * `{{ placeholders }}`. Retried only with an `idempotency_key`.
   * @throws ConflictError for a disabled job; ValidationError for missing template parameters.
   * @example
   * const run = await client.jobs.trigger(jobId, {
   *   parameters: { branch_name: 'main', environment: 'production' },
   *   config_override: { timeout: 7200 },
   *   idempotency_key: 'deploy-main-4f2a9c1',
   * });
   * console.log(run.execution_id, run.status); // exec_…, queued
   */
  trigger(jobId: string, options: TriggerOptions = {}): Promise<TriggerResponse> {
    return this.transport.request('POST', path('jobs', jobId, 'trigger'), {
      body: {
        parameters: options.parameters ?? {},
        ...(options.config_override !== undefined && { config_override: options.config_override }),
      },
      ...(options.idempotency_key !== undefined && {
        headers: { 'idempotency-key': options.idempotency_key },
      }),
      idempotent: options.idempotency_key !== undefined,
    });
  }

  /**
   * One page of the job's changes, newest first (who, when, which fields): `GET /jobs/{id}/history`.
   * Retried. @throws NotFoundError for a job that never existed.
   * @example
   * const { history } = await client.jobs.history(jobId, { limit: 10 });
   */
  history(jobId: string, options: { limit?: number; cursor?: string } = {}): Promise<JobHistoryResponse> {
    return this.transport.request('GET', path('jobs', jobId, 'history'), { query: { ...options } });
  }

  /**
   * One page of execution history, newest first: `GET /jobs/{id}/executions`, answering
   * `{ total_count, executions, next_cursor }`. Retried. See `iterateExecutions` for all of them.
   * @example
   * const page = await client.jobs.getExecutions(jobId, { limit: 20, offset: 0 });
   * console.log(page.total_count, page.executions[0]?.status);
   */
  getExecutions(jobId: string, options: ExecutionHistoryOptions = {}): Promise<ExecutionListResponse> {
    return this.transport.request('GET', path('jobs', jobId, 'executions'), { query: { ...options } });
  }

  /**
   * The reference's spelling of `getExecutions`.
   * @example
   * const history = await client.jobs.get_executions(jobId, { limit: 50, offset: 0 });
   * console.log(history.total_count);
   */
  get_executions(jobId: string, options: ExecutionHistoryOptions = {}): Promise<ExecutionListResponse> {
    return this.getExecutions(jobId, options);
  }

  /**
   * Every execution of a job, newest first, fetched a page at a time (`GET /jobs/{id}/executions`,
   * following `next_cursor`) as the loop asks:
   * `for await (const execution of client.jobs.iterateExecutions(jobId)) …`. Retried.
   * @throws NotFoundError for an unknown job (on the first page).
   * @example
   * for await (const run of client.jobs.iterateExecutions(jobId, { pageSize: 50 })) {
   *   if (run.status === 'failed') console.log(run.execution_id, run.error_message);
   * }
   */
  iterateExecutions(jobId: string, options: IterateOptions = {}): AsyncGenerator<Execution, void, undefined> {
    const limit = options.pageSize ?? 100;
    return paginate(async (cursor) => {
      const page = await this.getExecutions(jobId, { limit, ...(cursor !== undefined && { cursor }) });
      return { items: page.executions, next: page.next_cursor };
    });
  }

  /**
   * One execution: `GET /jobs/{id}/executions/{eid}`. Retried. @throws NotFoundError.
   * @example
   * const run = await client.jobs.getExecution(jobId, executionId);
   * console.log(run.status, run.output ?? run.error_message);
   */
  getExecution(jobId: string, executionId: string): Promise<Execution> {
    return this.transport.request('GET', path('jobs', jobId, 'executions', executionId));
  }

  /**
   * Cancels a queued or running execution: `POST /jobs/{id}/executions/{eid}/cancel`. Never retried:
   * a retry after a lost answer would meet a 409 for the run it had just cancelled.
   * @throws ConflictError when the execution has already ended; NotFoundError.
   * @example
   * const { execution_id } = await client.jobs.trigger(jobId);
   * const run = await client.jobs.cancelExecution(jobId, execution_id);
   * console.log(run.status); // cancelled
   */
  cancelExecution(jobId: string, executionId: string): Promise<Execution> {
    return this.transport.request('POST', path('jobs', jobId, 'executions', executionId, 'cancel'));
  }

  /**
   * Runs a job again as a run of it ran: `POST /jobs/{id}/executions/{eid}/replay` starts a new run of
   * the job as it is now, with that run's parameters and `config_override`, and answers like `trigger`;
   * the new execution's `replay_of` names the one replayed. Retried only with an `idempotency_key`.
   * @throws NotFoundError for an unknown job or execution; ConflictError for a disabled job;
   *   ValidationError when the job's template now needs a parameter the run did not have.
   * @example
   * const replay = await client.jobs.replayExecution(jobId, failed.execution_id);
   * console.log(replay.execution_id, replay.status); // exec_…, queued
   */
  replayExecution(
    jobId: string,
    executionId: string,
    options: { idempotency_key?: string } = {},
  ): Promise<TriggerResponse> {
    return this.transport.request('POST', path('jobs', jobId, 'executions', executionId, 'replay'), {
      ...(options.idempotency_key !== undefined && {
        headers: { 'idempotency-key': options.idempotency_key },
      }),
      idempotent: options.idempotency_key !== undefined,
    });
  }

  /**
   * Delivers to a webhook job as an external system would (no API key): `POST /webhooks/{path}`.
   * `payload` is sent exactly as given when it is a string or bytes, else as `JSON.stringify(payload)`.
   * Retried only when the delivery carries an id (`delivery_id`, or `webhook-id` with a Standard Webhooks
   * signature, or `X-GitHub-Delivery`), since the service returns the first run for a repeated id.
   * @throws AuthError (401, `invalid_signature`) for a signature that does not verify;
   *   RateLimitedError past the job's `webhook_rate_limit`; ConflictError for a disabled job.
   * @example
   * import { signWebhookPayload } from 'serverless-jobs/client';
   *
   * const { body, signature } = signWebhookPayload({ parameters: { branch_name: 'main' } }, webhookSecret);
   * const run = await client.jobs.triggerWebhook({
   *   webhook_path: webhookPath, // the job's `webhook_path`
   *   payload: body,
   *   signature,
   *   delivery_id: 'push-8f2c1e', // a redelivery with this id returns the first run
   * });
   * console.log(run.execution_id);
   */
  triggerWebhook(options: WebhookDeliveryOptions): Promise<TriggerResponse> {
    const body =
      typeof options.payload === 'string' || options.payload instanceof Uint8Array
        ? options.payload
        : JSON.stringify(options.payload);
    const headers: Record<string, string> = {
      ...(options.signature !== undefined && { 'x-webhook-signature': options.signature }),
      ...(options.delivery_id !== undefined && { 'x-webhook-id': options.delivery_id }),
      ...options.headers,
    };
    return this.transport.request('POST', path('webhooks', options.webhook_path), {
      rawBody: body,
      headers,
      auth: 'none',
      idempotent: deliveryId(headers) !== undefined,
    });
  }

  /**
   * The reference's spelling of `triggerWebhook`.
   * @example
   * import { signWebhookPayload } from 'serverless-jobs/client';
   *
   * const { body, signature } = signWebhookPayload({ parameters: { env: 'staging' } }, webhookSecret);
   * const run = await client.jobs.trigger_webhook({ webhook_path: webhookPath, payload: body, signature });
   */
  trigger_webhook(options: WebhookDeliveryOptions): Promise<TriggerResponse> {
    return this.triggerWebhook(options);
  }

  /**
   * A new webhook secret, shown once: `POST /jobs/{id}/webhook-secret/rotate`. The old one keeps
   * verifying for `grace_seconds` (default 24 h; 0 revokes it now). Never retried (each call mints a
   * secret).
   * @throws ConflictError when another rotation won a race; ValidationError for a bad grace.
   * @example
   * const rotation = await client.jobs.rotateWebhookSecret(jobId, { grace_seconds: 3600 });
   * // Store the new secret now: it is shown in this answer only
   * console.log(rotation.webhook_secret, rotation.previous_secret_valid_until);
   */
  rotateWebhookSecret(
    jobId: string,
    options: { grace_seconds?: number } = {},
  ): Promise<WebhookSecretRotation> {
    return this.transport.request('POST', path('jobs', jobId, 'webhook-secret', 'rotate'), { body: options });
  }

  /**
   * The next `count` fire times of a cron expression in a timezone (and UTC), with DST effects flagged:
   * `GET /cron/preview`. Retried.
   * @throws ValidationError naming `expression`, `timezone` or `count`.
   * @example
   * const preview = await client.jobs.previewSchedule('30 2 * * *', 'America/New_York', 3);
   * for (const fire of preview.fires) console.log(fire.local, fire.utc, fire.repeated_local_time);
   * console.log(preview.skipped); // local times a spring-forward day skips: no fire then
   */
  previewSchedule(expression: string, timezone = 'UTC', count = 10): Promise<SchedulePreview> {
    return this.transport.request('GET', '/cron/preview', { query: { expression, timezone, count } });
  }
}

/**
 * The id the service dedupes a delivery on, read as it does: `webhook-id` when a Standard Webhooks
 * signature is present, else `X-GitHub-Delivery` or `X-Webhook-Id`.
 */
function deliveryId(headers: Record<string, string>): string | undefined {
  const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  if (lower.has('webhook-signature')) return lower.get('webhook-id') || undefined;
  return lower.get('x-github-delivery') || lower.get('x-webhook-id') || undefined;
}

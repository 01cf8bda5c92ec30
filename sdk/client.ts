import type {
  Entity,
  EntityCreateInput,
  EntityPatchInput,
  EntityWithSecret,
} from '../shared/domain/entity.js';
import type { Execution, ExecutionListResponse, TriggerResponse } from '../shared/domain/execution.js';
import type {
  Job,
  JobCreateInput,
  JobListResponse,
  JobPatchInput,
  TriggerType,
} from '../shared/domain/job.js';
import { JobError } from './errors.js';
import { Transport } from './http.js';

export interface ControlPlaneClientOptions {
  /** Base URL of the service. @default process.env.JOBS_API_URL */
  baseUrl?: string;
  /** API key sent as `Authorization: Bearer`. @default process.env.JOBS_API_KEY */
  apiKey?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
}

export interface JobListOptions {
  enabled?: boolean;
  trigger_type?: TriggerType;
}

export interface JobPageOptions extends JobListOptions {
  /** Page size, 1–100. @default 50 */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** `client.jobs`: the reference's jobs methods. */
export class JobsResource {
  constructor(private readonly transport: Transport) {}

  /** Every job matching the filters, newest first (follows `next_cursor` through all pages). */
  async list(options: JobListOptions = {}): Promise<Job[]> {
    const jobs: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listPage({ ...options, limit: 100, cursor });
      jobs.push(...page.jobs);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return jobs;
  }

  /** One page of jobs; pass `next_cursor` back as `cursor` for the next. */
  listPage(options: JobPageOptions = {}): Promise<JobListResponse> {
    return this.transport.request('GET', '/jobs', { query: { ...options } });
  }

  get(jobId: string): Promise<Job> {
    return this.transport.request('GET', `/jobs/${encodeURIComponent(jobId)}`);
  }

  create(jobData: JobCreateInput): Promise<Job> {
    return this.transport.request('POST', '/jobs', { body: jobData });
  }

  /** Partial update: only the given fields change; `null` clears an optional field. */
  update(jobId: string, jobData: JobPatchInput): Promise<Job> {
    return this.transport.request('PATCH', `/jobs/${encodeURIComponent(jobId)}`, { body: jobData });
  }

  delete(jobId: string): Promise<void> {
    return this.transport.request('DELETE', `/jobs/${encodeURIComponent(jobId)}`);
  }

  enable(jobId: string): Promise<Job> {
    return this.transport.request('POST', `/jobs/${encodeURIComponent(jobId)}/enable`);
  }

  disable(jobId: string): Promise<Job> {
    return this.transport.request('POST', `/jobs/${encodeURIComponent(jobId)}/disable`);
  }

  /** Runs the job now; `parameters` fill the prompt template's `{{ placeholders }}`. */
  trigger(jobId: string, options: TriggerOptions = {}): Promise<TriggerResponse> {
    return this.transport.request('POST', `/jobs/${encodeURIComponent(jobId)}/trigger`, {
      body: {
        parameters: options.parameters ?? {},
        ...(options.config_override !== undefined && { config_override: options.config_override }),
      },
      ...(options.idempotency_key !== undefined && {
        headers: { 'idempotency-key': options.idempotency_key },
      }),
    });
  }

  /** Execution history, newest first: `{ total_count, executions, next_cursor }`. */
  getExecutions(jobId: string, options: ExecutionHistoryOptions = {}): Promise<ExecutionListResponse> {
    return this.transport.request('GET', `/jobs/${encodeURIComponent(jobId)}/executions`, {
      query: { ...options },
    });
  }

  /** The reference's spelling of `getExecutions`. */
  get_executions(jobId: string, options: ExecutionHistoryOptions = {}): Promise<ExecutionListResponse> {
    return this.getExecutions(jobId, options);
  }

  getExecution(jobId: string, executionId: string): Promise<Execution> {
    return this.transport.request(
      'GET',
      `/jobs/${encodeURIComponent(jobId)}/executions/${encodeURIComponent(executionId)}`,
    );
  }

  /**
   * Delivers to a webhook job as an external system would (no API key): `payload` is sent exactly as
   * given when it is a string or bytes, else as `JSON.stringify(payload)`; `signature` is the hex
   * HMAC-SHA256 of those bytes (see `signWebhookPayload`), sent as `X-Webhook-Signature`.
   */
  triggerWebhook(options: {
    webhook_path: string;
    payload: Record<string, unknown> | string | Uint8Array;
    signature: string;
    headers?: Record<string, string>;
  }): Promise<TriggerResponse> {
    const body =
      typeof options.payload === 'string' || options.payload instanceof Uint8Array
        ? options.payload
        : JSON.stringify(options.payload);
    return this.transport.requestRaw('POST', `/webhooks/${encodeURIComponent(options.webhook_path)}`, body, {
      'content-type': 'application/json',
      'x-webhook-signature': options.signature,
      ...options.headers,
    });
  }

  /** The reference's spelling of `triggerWebhook`. */
  trigger_webhook(options: Parameters<JobsResource['triggerWebhook']>[0]): Promise<TriggerResponse> {
    return this.triggerWebhook(options);
  }

  /** A new webhook secret, shown once; the old one keeps verifying for `grace_seconds` (default 24 h; 0 revokes it now). */
  rotateWebhookSecret(
    jobId: string,
    options: { grace_seconds?: number } = {},
  ): Promise<{
    webhook_secret: string;
    webhook_secret_rotated_at: string;
    previous_secret_valid_until: string | null;
  }> {
    return this.transport.request('POST', `/jobs/${encodeURIComponent(jobId)}/webhook-secret/rotate`, {
      body: options,
    });
  }

  /** The next `count` fire times of a cron expression in a timezone (and UTC), with DST effects flagged. */
  previewSchedule(expression: string, timezone = 'UTC', count = 10): Promise<SchedulePreview> {
    return this.transport.request('GET', '/cron/preview', { query: { expression, timezone, count } });
  }

  /** Cancels a queued or running execution. */
  cancelExecution(jobId: string, executionId: string): Promise<Execution> {
    return this.transport.request(
      'POST',
      `/jobs/${encodeURIComponent(jobId)}/executions/${encodeURIComponent(executionId)}/cancel`,
    );
  }
}

export interface TriggerOptions {
  parameters?: Record<string, unknown>;
  /** Overrides of the job's `config` for this run only (e.g. `{ timeout: 7200 }`). */
  config_override?: Record<string, unknown>;
  /** Sent as `Idempotency-Key`: repeating a trigger with the same key returns the first execution. */
  idempotency_key?: string;
}

export interface ExecutionHistoryOptions {
  /** @default 50 */
  limit?: number;
  /** @default 0 */
  offset?: number;
  /** `next_cursor` of a previous page, for deep paging. */
  cursor?: string;
}

/** `client.entities`: the agents, teams and workflows jobs run. */
export class EntitiesResource {
  constructor(private readonly transport: Transport) {}

  /** Every entity, newest first. */
  async list(): Promise<Entity[]> {
    const entities: Entity[] = [];
    let cursor: string | undefined;
    do {
      const page: { entities: Entity[]; next_cursor: string | null } = await this.transport.request(
        'GET',
        '/entities',
        {
          query: { limit: 100, cursor },
        },
      );
      entities.push(...page.entities);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return entities;
  }

  /** Creates an entity; for an http target the answer carries `signing_secret`, shown only this once. */
  create(entity: EntityCreateInput): Promise<Entity | EntityWithSecret> {
    return this.transport.request('POST', '/entities', { body: entity });
  }

  get(entityId: string): Promise<Entity> {
    return this.transport.request('GET', `/entities/${encodeURIComponent(entityId)}`);
  }

  update(entityId: string, patch: EntityPatchInput): Promise<Entity | EntityWithSecret> {
    return this.transport.request('PATCH', `/entities/${encodeURIComponent(entityId)}`, { body: patch });
  }

  delete(entityId: string): Promise<void> {
    return this.transport.request('DELETE', `/entities/${encodeURIComponent(entityId)}`);
  }
}

/** Client of the Serverless Jobs control plane, shaped like the reference SDK's `ControlPlaneClient`. */
export class ControlPlaneClient {
  readonly jobs: JobsResource;
  readonly entities: EntitiesResource;

  constructor(options: ControlPlaneClientOptions = {}) {
    const baseUrl = options.baseUrl ?? process.env.JOBS_API_URL;
    const apiKey = options.apiKey ?? process.env.JOBS_API_KEY;
    if (!baseUrl) {
      throw new JobError('No service URL: pass baseUrl or set JOBS_API_URL.', {
        status: 0,
        code: 'not_configured',
      });
    }
    if (!apiKey) {
      throw new JobError('No API key: pass apiKey or set JOBS_API_KEY.', {
        status: 0,
        code: 'not_configured',
      });
    }
    const transport = new Transport({
      baseUrl,
      apiKey,
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    this.jobs = new JobsResource(transport);
    this.entities = new EntitiesResource(transport);
  }
}

export interface SchedulePreview {
  expression: string;
  timezone: string;
  /** The EventBridge Scheduler expression(s) the schedule maps to. */
  schedule_expression: string[];
  fires: { local: string; utc: string; repeated_local_time: boolean }[];
  /** Local times the expression names that the zone skips (spring forward): no fire then. */
  skipped: { local: string; reason: string }[];
}

import { ApiKeysResource } from './api-keys.js';
import { EntitiesResource } from './entities.js';
import { JobError } from './errors.js';
import { ExecutionsResource } from './executions.js';
import { Transport } from './http.js';
import type { IamAuth, RequestSigner } from './iam-signing.js';
import { JobsResource } from './jobs.js';

/**
 * Options of `ControlPlaneClient`.
 *
 * Retries: a call that is safe to send twice (see each method) is re-sent after a 429, 500, 502, 503,
 * 504, a network error or a timeout, up to `maxRetries` times, waiting a jittered exponential backoff
 * or the service's `Retry-After`. Other calls fail at the first error.
 */
export interface ControlPlaneClientOptions {
  /** Base URL of the service (a path prefix is kept). @default process.env.JOBS_API_URL */
  baseUrl?: string;
  /** API key sent as `Authorization: Bearer <key>`. @default process.env.JOBS_API_KEY */
  apiKey?: string;
  /**
   * How requests authenticate: the API key (`{ type: 'api-key' }`), or SigV4 signatures made with AWS
   * credentials (`{ type: 'iam' }`, for a deployment with IAM authorization; needs no API key). The
   * signing code is loaded on the first signed request only, in Node (the browser SDK has none).
   * @default `{ type: 'iam' }` when process.env.JOBS_AUTH is `iam`, else `{ type: 'api-key' }`
   */
  auth?: { type: 'api-key' } | IamAuth;
  /** The `fetch` to send requests with (a fake in tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * How long one attempt may take, body included, before it fails with a `TimeoutError` (`status` 0,
   * `code` `timeout`), which idempotent calls retry like a network error.
   * @default 30000
   */
  timeoutMs?: number;
  /** How many times an idempotent call is re-sent after a retryable failure; 0 disables retries. @default 2 */
  maxRetries?: number;
  /** Backoff ceiling of the first retry in ms, doubled for each further one (the wait is uniform below it). @default 200 */
  retryBaseDelayMs?: number;
  /**
   * Longest wait before a retry in ms. A `Retry-After` longer than this is not waited for: the
   * `RateLimitedError` (or `ServerError`) is thrown at once, carrying `retryAfterSeconds`.
   * @default 30000
   */
  retryMaxDelayMs?: number;
  /** How to wait before a retry (tests pass one that returns at once). @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter, a number in [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * Client of the Serverless Jobs control plane, shaped like the reference SDK's `ControlPlaneClient`:
 * `client.jobs`, `client.entities`, `client.executions`, `client.health()` and `client.openApiDocument()`. Needs only the
 * platform's `fetch` (Node 20+).
 *
 * @throws JobError (`status` 0, `code` `not_configured`) when no base URL or API key is given or set in
 *   the environment, or an option is out of range.
 * @example
 * import { ControlPlaneClient } from 'serverless-jobs/client';
 *
 * const client = new ControlPlaneClient({
 *   baseUrl: 'https://jobs.example.com',
 *   apiKey: process.env.JOBS_API_KEY,
 * });
 * const jobs = await client.jobs.list();
 */
export class ControlPlaneClient {
  /** Jobs, their runs, webhooks and schedules. */
  readonly jobs: JobsResource;
  /** The agents, teams and workflows jobs run. */
  readonly entities: EntitiesResource;
  /** Runs across jobs, and callbacks of targets finishing accepted runs. */
  readonly executions: ExecutionsResource;
  /** The deployment's scoped API keys. */
  readonly apiKeys: ApiKeysResource;
  private readonly transport: Transport;

  constructor(options: ControlPlaneClientOptions = {}) {
    // A page has no `process`: the console passes every option, and nothing is read from an environment.
    const env: Record<string, string | undefined> = typeof process === 'undefined' ? {} : process.env;
    const baseUrl = options.baseUrl ?? env.JOBS_API_URL;
    const auth = options.auth ?? (env.JOBS_AUTH === 'iam' ? { type: 'iam' } : { type: 'api-key' });
    const apiKey = auth.type === 'iam' ? '' : (options.apiKey ?? env.JOBS_API_KEY);
    if (!baseUrl) throw notConfigured('No service URL: pass baseUrl or set JOBS_API_URL.');
    if (apiKey === undefined || (auth.type === 'api-key' && apiKey === '')) {
      throw notConfigured('No API key: pass apiKey or set JOBS_API_KEY.');
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    const maxRetries = options.maxRetries ?? 2;
    const retryBaseDelayMs = options.retryBaseDelayMs ?? 200;
    const retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000;
    if (!(timeoutMs > 0)) throw notConfigured('timeoutMs must be a positive number of milliseconds.');
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw notConfigured('maxRetries must be a whole number, 0 or more.');
    }
    if (!(retryBaseDelayMs >= 0) || !(retryMaxDelayMs >= 0)) {
      throw notConfigured('retryBaseDelayMs and retryMaxDelayMs must not be negative.');
    }
    this.transport = new Transport({
      baseUrl,
      apiKey,
      ...(auth.type === 'iam' && { signer: () => this.iamSigner(auth, baseUrl) }),
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs,
      maxRetries,
      retryBaseDelayMs,
      retryMaxDelayMs,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
    });
    this.jobs = new JobsResource(this.transport);
    this.entities = new EntitiesResource(this.transport);
    this.executions = new ExecutionsResource(this.transport);
    this.apiKeys = new ApiKeysResource(this.transport);
  }

  /**
   * The SigV4 signer of `auth: { type: 'iam' }`. This build has none: the Node entry point
   * (`serverless-jobs/client`) supplies it; the browser SDK cannot sign.
   */
  protected iamSigner(_auth: IamAuth, _baseUrl: string): Promise<RequestSigner> {
    return Promise.reject(
      notConfigured('IAM signing needs the Node SDK (serverless-jobs/client); this build has no signer.'),
    );
  }

  /**
   * Liveness of the service: `GET /health` (no API key needed), `{ status: 'ok' }`. Retried.
   * @example
   * const { status } = await client.health(); // 'ok'
   */
  health(): Promise<{ status: string }> {
    return this.transport.request('GET', '/health', { auth: 'none' });
  }

  /**
   * The service's OpenAPI 3 document, describing every route and wire shape: `GET /openapi.json` (no
   * API key needed). Retried.
   * @example
   * import { writeFile } from 'node:fs/promises';
   *
   * const document = await client.openApiDocument();
   * await writeFile('openapi.json', JSON.stringify(document, null, 2)); // e.g. for a code generator
   */
  openApiDocument(): Promise<Record<string, unknown>> {
    return this.transport.request('GET', '/openapi.json', { auth: 'none' });
  }
}

function notConfigured(message: string): JobError {
  return new JobError(message, { status: 0, code: 'not_configured' });
}

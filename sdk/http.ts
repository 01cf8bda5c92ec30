import {
  errorFromResponse,
  JobError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  TimeoutError,
} from './errors.js';
import type { RequestSigner } from './iam-signing.js';

export interface TransportOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` on requests that authenticate the caller, unless they are signed. */
  apiKey: string;
  /** Signs those requests instead (IAM), each attempt afresh; called once, on the first such request. */
  signer?: () => Promise<RequestSigner>;
  fetch: typeof fetch;
  /** Per attempt, body included. */
  timeoutMs: number;
  /** Re-sends after the first attempt, for calls marked idempotent. */
  maxRetries: number;
  /** Backoff ceiling of the first retry; doubled for each further one. */
  retryBaseDelayMs: number;
  /** Longest wait before a retry; a `Retry-After` longer than this is not waited for. */
  retryMaxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1), as `Math.random`. */
  random: () => number;
}

export type QueryValue = string | number | boolean | undefined;

/** How a request authenticates: the client's API key, a bearer token of its own, or nothing. */
export type RequestAuth = 'api-key' | 'none' | { bearer: string };

export interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent byte for byte (a webhook delivery); takes precedence over `body`. */
  rawBody?: string | Uint8Array;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** @default 'api-key' (the client's credential: its API key, or a SigV4 signature) */
  auth?: RequestAuth;
  /**
   * Whether sending the request twice has the effect of sending it once, so it may be retried after a
   * retryable failure (429, 500, 502, 503, 504, a network error or a timeout).
   * @default true for GET, false otherwise
   */
  idempotent?: boolean;
  /**
   * For a DELETE: a 404 on a retry means an earlier attempt, whose answer was lost, did the deletion,
   * so the call succeeds.
   */
  notFoundOnRetryIsDone?: boolean;
}

/** Statuses worth sending an idempotent request again for: overload and gateway failures. */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

/** One attempt's failure, with how long the service asked us to wait (from `Retry-After`). */
interface Failure {
  error: JobError;
  retryAfterMs: number | null;
}

/**
 * Sends JSON requests and decodes the answers, turning every failure into a `JobError` subclass and
 * retrying idempotent requests with jittered exponential backoff.
 * @internal Not part of the SDK's public API (not exported by `serverless-jobs/client`).
 */
export class Transport {
  private signer: Promise<RequestSigner> | undefined;

  constructor(private readonly options: TransportOptions) {}

  async request<T>(method: string, path: string, init: RequestOptions = {}): Promise<T> {
    const url = this.url(path);
    for (const [name, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    const auth = init.auth ?? 'api-key';
    const signs = auth === 'api-key' && this.options.signer !== undefined;
    if (auth === 'api-key' && !signs) headers.authorization = `Bearer ${this.options.apiKey}`;
    else if (typeof auth === 'object') headers.authorization = `Bearer ${auth.bearer}`;
    let body: string | Uint8Array | undefined;
    if (init.rawBody !== undefined) body = init.rawBody;
    else if (init.body !== undefined) body = JSON.stringify(init.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, init.headers);

    const idempotent = init.idempotent ?? method === 'GET';
    const sign = signs ? await this.loadSigner() : undefined;
    for (let attempt = 0; ; attempt++) {
      // Signed per attempt: a signature holds its time, and a retry may come minutes later.
      const sent = sign ? { ...headers, ...(await signWith(sign, { method, url, headers, body })) } : headers;
      const outcome = await this.attempt<T>(method, url, sent, body);
      if (!('error' in outcome)) return outcome.value;
      if (attempt > 0 && init.notFoundOnRetryIsDone && outcome.error instanceof NotFoundError) {
        return undefined as T;
      }
      const delayMs =
        idempotent && attempt < this.options.maxRetries ? this.retryDelay(outcome, attempt) : null;
      if (delayMs === null) throw outcome.error;
      await this.options.sleep(delayMs);
    }
  }

  /**
   * How long to wait before retry number `attempt + 1`, or `null` when the failure is not worth
   * retrying. A `Retry-After` is honoured (plus up to one base delay of jitter, so clients told the
   * same moment do not all come back at once); otherwise full jitter: a uniform wait in
   * [0, min(retryMaxDelayMs, retryBaseDelayMs × 2^attempt)).
   */
  private retryDelay(failure: Failure, attempt: number): number | null {
    const { error, retryAfterMs } = failure;
    const retryable =
      error instanceof NetworkError ||
      ((error instanceof ServerError || error instanceof RateLimitedError) &&
        RETRYABLE_STATUSES.has(error.status));
    if (!retryable) return null;
    const { retryBaseDelayMs, retryMaxDelayMs, random } = this.options;
    if (retryAfterMs !== null) {
      // Waiting less would only earn another 429; waiting longer is the caller's decision, not ours.
      if (retryAfterMs > retryMaxDelayMs) return null;
      return retryAfterMs + Math.floor(random() * retryBaseDelayMs);
    }
    return Math.floor(random() * Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** attempt));
  }

  private loadSigner(): Promise<RequestSigner> {
    const load = this.options.signer as () => Promise<RequestSigner>;
    this.signer ??= load().catch((error: unknown) => {
      this.signer = undefined;
      throw signingError(error);
    });
    return this.signer;
  }

  private url(path: string): URL {
    return new URL(
      path.replace(/^\//, ''),
      this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`,
    );
  }

  private async attempt<T>(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
  ): Promise<{ value: T } | Failure> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    let response: Response;
    let text: string;
    try {
      // Called detached: a browser's own `fetch` throws "Illegal invocation" when its receiver is not the
      // window, and `this.options.fetch(…)` would make the options object its receiver.
      const send = this.options.fetch;
      // The DOM's BodyInit (the console's type check) takes only ArrayBuffer-backed views, which is what
      // text encoders and Buffers give; Node's fetch types take any view.
      const payload = body as string | Uint8Array<ArrayBuffer> | undefined;
      response = await send(url, { method, headers, body: payload, signal: controller.signal });
      text = await response.text();
    } catch (error) {
      const where = `${method} ${url.pathname}`;
      if (controller.signal.aborted) {
        return {
          error: new TimeoutError(`timeout: ${where} got no answer within ${this.options.timeoutMs} ms.`, {
            status: 0,
            code: 'timeout',
            cause: error,
          }),
          retryAfterMs: null,
        };
      }
      const reason = oneLine(error instanceof Error ? describe(error) : String(error));
      return {
        error: new NetworkError(`network_error: ${where} failed: ${reason}`, {
          status: 0,
          code: 'network_error',
          cause: error,
        }),
        retryAfterMs: null,
      };
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const retryAfterSeconds = retryAfterMs === null ? null : Math.ceil(retryAfterMs / 1000);
      return { error: errorFromResponse(response.status, text, retryAfterSeconds), retryAfterMs };
    }
    if (response.status === 204 || text === '') return { value: undefined as T };
    try {
      return { value: JSON.parse(text) as T };
    } catch (error) {
      return {
        error: new JobError(`${response.status} invalid_response: the body is not JSON.`, {
          status: response.status,
          code: 'invalid_response',
          cause: error,
        }),
        retryAfterMs: null,
      };
    }
  }
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date; `null` when absent or unreadable.
 * @internal Not part of the SDK's public API (not exported by `serverless-jobs/client`).
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The signature headers, or a `JobError` (no credentials in the chain, an expired SSO session…). */
async function signWith(
  sign: RequestSigner,
  request: Parameters<RequestSigner>[0],
): Promise<Record<string, string>> {
  try {
    return await sign(request);
  } catch (error) {
    throw signingError(error);
  }
}

function signingError(error: unknown): JobError {
  if (error instanceof JobError) return error;
  const reason = oneLine(error instanceof Error ? error.message : String(error));
  return new JobError(`not_configured: cannot sign the request with AWS credentials: ${reason}`, {
    status: 0,
    code: 'not_configured',
    cause: error,
  });
}

/** `fetch failed` says little; undici puts the real reason (`ECONNREFUSED`…) in `cause`. */
function describe(error: Error): string {
  const cause = error.cause;
  return cause instanceof Error && cause.message ? `${error.message} (${cause.message})` : error.message;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

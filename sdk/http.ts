import { JobError } from './errors.js';

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  fetch: typeof fetch;
  timeoutMs: number;
}

export type QueryValue = string | number | boolean | undefined;

/** Sends one JSON request and decodes the answer, turning every failure into a `JobError`. */
export class Transport {
  constructor(private readonly options: TransportOptions) {}

  async request<T>(
    method: string,
    path: string,
    init: { body?: unknown; query?: Record<string, QueryValue>; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const url = this.url(path);
    for (const [name, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      accept: 'application/json',
    };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, init.headers);
    return this.send(method, url, headers, init.body === undefined ? undefined : JSON.stringify(init.body));
  }

  /** Sends `body` byte for byte, without the API key: how an external system calls a webhook. */
  requestRaw<T>(
    method: string,
    path: string,
    body: string | Uint8Array,
    headers: Record<string, string>,
  ): Promise<T> {
    return this.send(method, this.url(path), { accept: 'application/json', ...headers }, body);
  }

  private url(path: string): URL {
    return new URL(
      path.replace(/^\//, ''),
      this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`,
    );
  }

  private async send<T>(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
  ): Promise<T> {
    let response: Response;
    try {
      response = await this.options.fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new JobError(`${method} ${url.pathname} failed: ${(error as Error).message}`, {
        status: 0,
        code: 'network_error',
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok) throw errorFromResponse(response.status, text);
    if (response.status === 204 || text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new JobError(`The service answered ${response.status} with a body that is not JSON.`, {
        status: response.status,
        code: 'invalid_response',
        cause: error,
      });
    }
  }
}

function errorFromResponse(status: number, text: string): JobError {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const error = body.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      return new JobError(error.message, {
        status,
        code: error.code,
        details: Array.isArray(error.details) ? error.details : [],
      });
    }
  } catch {
    // Not our error shape (a proxy or gateway answered); report the status alone.
  }
  return new JobError(`The service answered ${status}.`, { status, code: `http_${status}` });
}

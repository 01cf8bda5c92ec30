import { JobError } from '../sdk/index.js';

const TIMEOUT_MS = 30_000;

/**
 * One request the SDK has no method for (`GET /health`, a signed webhook delivery sent to a full URL),
 * its failures reported as the SDK reports its own: a `JobError` with the service's code and details.
 */
export async function sendRequest(
  fetchFn: typeof fetch,
  method: string,
  url: URL,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchFn(url, {
      method,
      headers: { accept: 'application/json', ...init.headers },
      body: init.body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new JobError(`${method} ${url.pathname} failed: ${(error as Error).message}`, {
      status: 0,
      code: 'network_error',
      cause: error,
    });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
      ?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      throw new JobError(error.message, {
        status: response.status,
        code: error.code,
        details: Array.isArray(error.details) ? error.details : [],
      });
    }
    throw new JobError(`The service answered ${response.status}.`, {
      status: response.status,
      code: `http_${response.status}`,
    });
  }
  if (body === undefined && text !== '') {
    throw new JobError(`The service answered ${response.status} with a body that is not JSON.`, {
      status: response.status,
      code: 'invalid_response',
    });
  }
  return body;
}

import type { HttpTarget } from '../domain/entity.js';
import type { ExecutionRequest } from '../domain/execution.js';
import { InvalidSigningSecretError, signStandardWebhook } from '../domain/signature.js';
import type { TargetOutcome } from '../ports.js';

/** Used when the entity's target sets no `timeout_seconds`. */
export const DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS = 30;
/** Most of a response body read; the rest is left unread (the caller caps the output further). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Most of an error body quoted in an error message. */
const ERROR_SNIPPET_CHARS = 500;
/** Most of an error body read to quote from. */
const ERROR_BODY_BYTES = 4 * 1024;

export interface HttpTargetOptions {
  /** Standard Webhooks secret (`whsec_…`) the request is signed with; null sends it unsigned. */
  signingSecret: string | null;
  /** Time left for this attempt; the target's own `timeout_seconds` applies when shorter. */
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

/** The first `maxChars` characters of a text on one line, marked when cut. */
export function snippet(text: string, maxChars = ERROR_SNIPPET_CHARS): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > maxChars ? `${oneLine.slice(0, maxChars)}…` : oneLine;
}

/** Reads at most `maxBytes` of a body, then cancels the rest of the stream. */
async function readLimited(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - size;
      const chunk = value.byteLength > room ? value.subarray(0, room) : value;
      chunks.push(chunk);
      size += chunk.byteLength;
    }
  } finally {
    // Frees the connection whether the body ended, hit the limit or failed; a failing cancel changes nothing.
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function isJsonContentType(contentType: string | null): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

function parseOutput(text: string, contentType: string | null): unknown {
  if (text.length === 0) return null;
  if (!isJsonContentType(contentType)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A body labelled JSON that does not parse (or was cut at the read limit) is kept as text.
    return text;
  }
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function describeNetworkError(error: unknown): string {
  // undici reports "fetch failed" and puts the reason (ECONNREFUSED, ENOTFOUND…) in `cause`.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  return snippet(`Request to the target failed: ${message}`);
}

/**
 * POSTs the execution request to an http target, signed with Standard Webhooks headers. Never throws:
 * every failure becomes a `failed` outcome (network errors, timeouts, 408/429/5xx retryable; other
 * statuses not). Redirects are not followed, since one could send the signed body to another host.
 */
export async function invokeHttpTarget(
  target: HttpTarget,
  request: ExecutionRequest,
  options: HttpTargetOptions,
): Promise<TargetOutcome> {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  const timeoutMs = Math.max(
    0,
    Math.min(options.timeoutMs, (target.timeout_seconds ?? DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS) * 1000),
  );

  // The exact bytes signed are the bytes sent.
  const body = JSON.stringify(request);
  const timestamp = Math.floor(now().getTime() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'serverless-jobs',
    'webhook-id': request.execution_id,
    'webhook-timestamp': String(timestamp),
  };
  if (options.signingSecret !== null) {
    try {
      headers['webhook-signature'] = signStandardWebhook({
        id: request.execution_id,
        timestamp,
        body,
        secret: options.signingSecret,
      });
    } catch (error) {
      if (!(error instanceof InvalidSigningSecretError)) throw error;
      return {
        kind: 'failed',
        error: "The entity's signing secret is not valid; rotate it.",
        retryable: false,
        timedOut: false,
      };
    }
  }

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const timedOut = (): TargetOutcome => ({
    kind: 'failed',
    error: `The target did not answer within ${timeoutMs} ms.`,
    retryable: true,
    timedOut: true,
  });
  try {
    let response: Response;
    try {
      response = await fetchImpl(target.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) return timedOut();
      return { kind: 'failed', error: describeNetworkError(error), retryable: true, timedOut: false };
    }

    const { status } = response;
    try {
      if (status === 202) {
        await response.body?.cancel().catch(() => undefined);
        return { kind: 'accepted' };
      }
      if (status >= 200 && status < 300) {
        const text = await readLimited(response, MAX_RESPONSE_BYTES);
        return { kind: 'succeeded', output: parseOutput(text, response.headers.get('content-type')) };
      }
      const text = await readLimited(response, ERROR_BODY_BYTES);
      const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
      const quoted = snippet(text);
      return {
        kind: 'failed',
        error: `The target answered HTTP ${status}${redirect}${quoted ? `: ${quoted}` : ''}`,
        retryable: isRetryableStatus(status),
        timedOut: false,
      };
    } catch (error) {
      // The body failed mid-read: the deadline passed, or the connection broke.
      if (controller.signal.aborted) return timedOut();
      return { kind: 'failed', error: describeNetworkError(error), retryable: true, timedOut: false };
    }
  } finally {
    clearTimeout(timer);
  }
}

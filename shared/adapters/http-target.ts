import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { HttpTarget } from '../domain/entity.js';
import { type ExecutionRequest, MAX_OUTPUT_BYTES } from '../domain/execution.js';
import { InvalidSigningSecretError, signStandardWebhook } from '../domain/signature.js';
import { ipLiteralHost, refuseAddress, type TargetNetwork } from '../domain/target-network.js';
import type { TargetOutcome } from '../ports.js';
import { guardedLookup, TargetAddressRefusedError } from './target-address-guard.js';

/** Used when the entity's target sets no `timeout_seconds`. */
export const DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS = 30;
/**
 * Most of a 2xx body read: no more than an execution can store as its `output` (the worker cuts the output
 * to MAX_OUTPUT_BYTES of JSON and flags it), so nothing is read only to be thrown away.
 */
export const MAX_RESPONSE_BYTES = MAX_OUTPUT_BYTES;
/** Most of an error body quoted in an error message. */
const ERROR_SNIPPET_CHARS = 500;
/** Most of an error body read to quote from. */
const ERROR_BODY_BYTES = 4 * 1024;

export interface HttpTargetOptions {
  /** Standard Webhooks secret (`whsec_…`) the request is signed with; null sends it unsigned. */
  signingSecret: string | null;
  /** Time left for this attempt; the target's own `timeout_seconds` applies when shorter. */
  timeoutMs: number;
  /**
   * Networks besides public addresses the target may be reached at: the deployment's
   * `allowedTargetNetworks`. Link-local, metadata and other special addresses are refused whatever it says.
   * @default [] (public addresses only)
   */
  allowedNetworks?: readonly TargetNetwork[];
  /** Resolves the target's host name; every address it answers is checked before connecting. @default dns.lookup */
  lookup?: LookupFunction;
  now?: () => Date;
}

/** The first `maxChars` characters of a text on one line, marked when cut. */
export function snippet(text: string, maxChars = ERROR_SNIPPET_CHARS): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > maxChars ? `${oneLine.slice(0, maxChars)}…` : oneLine;
}

/** Reads at most `maxBytes` of a body, then closes the connection rather than read the rest. */
export async function readLimited(response: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let cut = false;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      const room = maxBytes - size;
      chunks.push(chunk.byteLength > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.byteLength, room);
      if (size >= maxBytes) {
        // Possibly the body's exact end too; either way nothing more is read.
        cut = true;
        break;
      }
    }
  } finally {
    response.destroy();
  }
  // Streaming mode leaves a character cut at the limit undecoded instead of turning it into U+FFFD.
  return new TextDecoder().decode(Buffer.concat(chunks), { stream: cut });
}

/**
 * POSTs `body` without following redirects (node:http never does) and without a shared connection pool: a
 * pooled connection would skip the `lookup` that checked where it goes. Resolves with the response head.
 */
export function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  lookup: LookupFunction,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal,
        lookup,
        agent: false,
      },
      resolve,
    );
    request.on('error', reject);
    request.end(body);
  });
}

function contentTypeOf(headers: IncomingHttpHeaders): string | null {
  return headers['content-type'] ?? null;
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

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The refusal behind a failed connection, wherever Node put it (directly, as `cause`, or in an AggregateError). */
export function refusalIn(error: unknown): TargetAddressRefusedError | null {
  if (error instanceof TargetAddressRefusedError) return error;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = refusalIn(inner);
      if (found) return found;
    }
  }
  return error instanceof Error && error.cause !== undefined ? refusalIn(error.cause) : null;
}

export function describeNetworkError(error: unknown): string {
  // Connecting to each address of a name (happy eyeballs) fails with an AggregateError of every attempt.
  const errors = error instanceof AggregateError && error.errors.length > 0 ? error.errors : [error];
  const message = errors.map((each) => (each instanceof Error ? each.message : String(each))).join('; ');
  return snippet(`Request to the target failed: ${message}`);
}

const refused = (error: string): TargetOutcome => ({
  kind: 'failed',
  error,
  retryable: false,
  timedOut: false,
});

/**
 * POSTs the execution request to an http target, signed with Standard Webhooks headers. Never throws:
 * every failure becomes a `failed` outcome (network errors, timeouts, 408/429/5xx retryable; other
 * statuses not). Redirects are not followed, since one could send the signed body to another host.
 *
 * The address connected to must be public or in `allowedNetworks`: an IP literal host is checked here, a
 * name through the `lookup` the connection uses, so a name resolving to a refused address is refused
 * before a byte is sent, and nothing of what such an address would answer can reach the run's output.
 * Such a refusal fails the run without retry.
 */
export async function invokeHttpTarget(
  target: HttpTarget,
  request: ExecutionRequest,
  options: HttpTargetOptions,
): Promise<TargetOutcome> {
  const now = options.now ?? (() => new Date());
  const allowedNetworks = options.allowedNetworks ?? [];
  const timeoutMs = Math.max(
    0,
    Math.min(options.timeoutMs, (target.timeout_seconds ?? DEFAULT_HTTP_TARGET_TIMEOUT_SECONDS) * 1000),
  );

  // Entities are checked when written, but one stored before a rule changed is checked again here.
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return refused('The target URL is not a valid URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refused('The target URL must be http or https.');
  }
  const literal = ipLiteralHost(url);
  const literalRefusal = literal === null ? null : refuseAddress(literal, allowedNetworks);
  if (literalRefusal) return refused(`Refused to call the target at ${literalRefusal.reason}.`);

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
      return refused("The entity's signing secret is not valid; rotate it.");
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
  const lookup = guardedLookup(allowedNetworks, options.lookup);
  try {
    let response: IncomingMessage;
    try {
      response = await post(url, headers, body, controller.signal, lookup);
    } catch (error) {
      const refusal = refusalIn(error);
      if (refusal) return refused(`Refused to call the target: ${refusal.message}.`);
      if (controller.signal.aborted) return timedOut();
      return { kind: 'failed', error: describeNetworkError(error), retryable: true, timedOut: false };
    }

    const status = response.statusCode ?? 0;
    try {
      if (status === 202) {
        response.destroy();
        return { kind: 'accepted' };
      }
      if (status >= 200 && status < 300) {
        const text = await readLimited(response, MAX_RESPONSE_BYTES);
        return { kind: 'succeeded', output: parseOutput(text, contentTypeOf(response.headers)) };
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

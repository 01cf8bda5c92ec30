import { signHexHmac, signStandardWebhook } from '../shared/domain/signature.js';

/**
 * For callers holding a webhook secret: serializes `payload` once and signs those exact bytes with
 * the reference's scheme (hex HMAC-SHA256 keyed with the secret string's UTF-8 bytes). Send `body`
 * unchanged, e.g. `client.jobs.triggerWebhook({ webhook_path, payload: body, signature })`.
 * @example
 * import { ControlPlaneClient, signWebhookPayload } from 'serverless-jobs/client';
 *
 * const client = new ControlPlaneClient();
 * const { body, signature } = signWebhookPayload({ parameters: { branch_name: 'main' } }, webhookSecret);
 * await client.jobs.triggerWebhook({ webhook_path: webhookPath, payload: body, signature });
 */
export function signWebhookPayload(
  payload: Record<string, unknown> | string,
  secret: string,
): { body: string; signature: string } {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { body, signature: signHexHmac(body, secret) };
}

/**
 * The same with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`):
 * the id makes a redelivery return the first run instead of a second.
 * @example
 * import { ControlPlaneClient, standardWebhookHeaders } from 'serverless-jobs/client';
 *
 * const client = new ControlPlaneClient();
 * const payload = { parameters: { environment: 'staging' } };
 * // A redelivery with the same id returns the first run instead of starting another
 * const { body, headers } = standardWebhookHeaders(payload, webhookSecret, { id: 'msg_2f9c1e' });
 * await client.jobs.triggerWebhook({ webhook_path: webhookPath, payload: body, headers });
 */
export function standardWebhookHeaders(
  payload: Record<string, unknown> | string,
  secret: string,
  options: { id: string; timestamp?: Date },
): { body: string; headers: Record<string, string> } {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const timestamp = Math.floor((options.timestamp ?? new Date()).getTime() / 1000);
  return {
    body,
    headers: {
      'webhook-id': options.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signStandardWebhook({ id: options.id, timestamp, body, secret }),
    },
  };
}

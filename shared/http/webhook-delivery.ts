import type { SignedDelivery } from '../app/webhook-service.js';
import type { RouteInput } from './route-definition.js';
import type { triggerWebhook } from './routes/webhooks.js';

type DeliveryInput = Pick<RouteInput<typeof triggerWebhook>, 'params' | 'headers' | 'request'>;

/**
 * A delivery as the webhook service verifies it: the path, the raw bytes, and the signature its headers
 * carry. Standard Webhooks' `webhook-signature` wins when present (its other two headers are then
 * required); otherwise a hex HMAC under either name, with the sender's delivery id.
 */
export function signedDelivery({ params, headers, request }: DeliveryInput): SignedDelivery {
  const standard = headers['webhook-signature'];
  const hex = headers['X-Webhook-Signature'] ?? headers['X-Hub-Signature-256'];
  return {
    path: params.path,
    rawBody: request.rawBody,
    signature:
      standard !== undefined
        ? {
            scheme: 'standard-webhooks',
            signature: standard,
            id: headers['webhook-id'],
            timestamp: headers['webhook-timestamp'],
          }
        : hex !== undefined
          ? {
              scheme: 'hmac-sha256',
              signature: hex,
              // Git hosts name their deliveries; a redelivery of the same one then returns the first run.
              deliveryId: headers['X-GitHub-Delivery'] ?? headers['X-Webhook-Id'],
            }
          : { scheme: 'none' },
  };
}

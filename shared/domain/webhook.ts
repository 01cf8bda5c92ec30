import * as z from 'zod/mini';
import { JsonObjectSchema } from './json.js';
import { RunConfigObjectSchema } from './run-config.js';

/** Longest grace a rotated-out secret may keep: a week. */
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
/** How long a rotated-out secret still verifies when the rotation names no grace: a day. */
export const DEFAULT_GRACE_SECONDS = 24 * 3600;

/**
 * Delivery body. The reference's keys are read; anything else a sender includes (a Git host's own
 * payload) is ignored rather than refused, so such senders can point straight at the URL.
 */
export const WebhookDeliverySchema = z
  .looseObject({
    parameters: z.optional(z.nullable(JsonObjectSchema)),
    config_override: z.optional(z.nullable(RunConfigObjectSchema)),
    metadata: z.optional(z.nullable(JsonObjectSchema)),
  })
  .register(z.globalRegistry, {
    id: 'WebhookDelivery',
    description:
      'A delivery body. These keys are read; other keys (a Git host’s own payload) are ignored, so senders can post straight to the URL.',
  });
/** A delivery body as validated by WebhookDeliverySchema. */
export type WebhookDelivery = z.output<typeof WebhookDeliverySchema>;

/** Body of `POST /jobs/{id}/webhook-secret/rotate`. */
export const WebhookSecretRotateRequestSchema = z
  .strictObject({
    grace_seconds: z
      .optional(
        z
          .number()
          .check(
            z.int('must be a whole number of seconds'),
            z.minimum(0, 'must not be negative'),
            z.maximum(MAX_GRACE_SECONDS, `must be at most ${MAX_GRACE_SECONDS}`),
          ),
      )
      .register(z.globalRegistry, {
        description: 'How long the previous secret still verifies deliveries, at most a week. Default 86400.',
      }),
  })
  .register(z.globalRegistry, {
    id: 'WebhookSecretRotateRequest',
    description: 'Body of the rotate call; may be empty.',
  });
/** A rotation body as validated by WebhookSecretRotateRequestSchema. */
export type WebhookSecretRotateRequest = z.output<typeof WebhookSecretRotateRequestSchema>;

/** The answer to a rotation: the new secret, shown this once. */
export const WebhookSecretRotationSchema = z
  .object({
    webhook_secret: z.string(),
    webhook_secret_rotated_at: z.string(),
    previous_secret_valid_until: z.nullable(z.string()).register(z.globalRegistry, {
      description: 'Until when the previous secret still verifies; null with `grace_seconds: 0`.',
    }),
  })
  .register(z.globalRegistry, {
    id: 'WebhookSecretRotation',
    description: 'The new webhook secret, shown this once.',
  });
export type WebhookSecretRotation = z.infer<typeof WebhookSecretRotationSchema>;

import * as z from 'zod/mini';
import { WebhookRejectedError } from '../../domain/errors.js';
import { TriggerResponseSchema } from '../../domain/execution.js';
import {
  WebhookDeliverySchema,
  WebhookSecretRotateRequestSchema,
  WebhookSecretRotationSchema,
} from '../../domain/webhook.js';
import { defineRoute } from '../route-definition.js';
import { example, TRIGGERED, WEBHOOK_PATH } from './examples.js';
import { JobIdParam } from './parameters.js';

export const rotateWebhookSecret = defineRoute({
  operationId: 'rotateWebhookSecret',
  method: 'POST',
  path: '/jobs/{id}/webhook-secret/rotate',
  auth: 'api-key',
  scope: 'admin',
  sdkMethod: 'jobs.rotateWebhookSecret',
  tags: ['Webhooks'],
  summary: 'Rotate a webhook secret',
  description:
    'Issues a new signing secret for a webhook job, shown in this answer only. The previous secret keeps verifying deliveries for `grace_seconds` (default a day), so senders can switch over.',
  params: z.object({ id: JobIdParam }),
  body: {
    schema: WebhookSecretRotateRequestSchema,
    required: false,
    description: 'Optional; an empty body keeps the default grace.',
    examples: { hour: example('Keep the old secret for an hour', { grace_seconds: 3600 }) },
  },
  response: {
    status: 200,
    description: 'The new secret.',
    schema: WebhookSecretRotationSchema,
    examples: {
      rotated: example('Rotated with an hour of grace', {
        webhook_secret: 'whsec_3kP0e2yQm5Vb8sT1rW4uX7zA9cD6fG2hJ5kL8nQ1pR4=',
        webhook_secret_rotated_at: '2025-01-15T10:00:00.000Z',
        previous_secret_valid_until: '2025-01-15T11:00:00.000Z',
      }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    404: 'No job with this id.',
    409: 'Not a webhook job, or another rotation got in first.',
    413: true,
    415: true,
    422: 'An invalid `grace_seconds`.',
    500: true,
  },
});

/**
 * A header of a delivery. The signature check reads them, and answers a malformed one as it answers a
 * wrong signature (401), so what the document says of their form (`shape`) is not checked here.
 */
const deliveryHeader = (description: string, sample: string, shape: Record<string, unknown> = {}) =>
  z
    .optional(z.string())
    .register(z.globalRegistry, { param: { description, example: sample }, override: shape });

const HEX_SAMPLE = 'sha256=5b7e2d6a3f0c9e8d1b4a7c6f2e9d0b3a8c5f1e4d7b0a3c6e9f2d5b8a1c4e7f0a';

export const triggerWebhook = defineRoute({
  operationId: 'triggerWebhook',
  method: 'POST',
  path: '/webhooks/{path}',
  auth: 'webhook-signature',
  sdkMethod: 'jobs.triggerWebhook',
  tags: ['Webhooks'],
  summary: 'Deliver a webhook',
  description:
    "Starts a run of the webhook job at this path. Served by the webhook function, not the API function, and authenticated by the signature alone (no API key), computed over the raw body bytes with the job's `webhook_secret`: either Standard Webhooks (`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature`), or an HMAC-SHA256 hex digest in `X-Webhook-Signature` or `X-Hub-Signature-256` (GitHub style). A delivery id (`webhook-id`, `X-GitHub-Delivery` or `X-Webhook-Id`) makes a redelivery answer with the first run.",
  params: z.object({
    // A path that cannot be one is answered as an unknown one (404), by the service.
    path: z.string().register(z.globalRegistry, {
      param: { description: 'The last part of the job’s `webhook_url`.', example: WEBHOOK_PATH },
      override: { pattern: '^[A-Za-z0-9_-]{16,64}$' },
    }),
  }),
  headers: z.object({
    'webhook-id': deliveryHeader(
      'Standard Webhooks: the delivery id (at most 256 characters).',
      'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      { maxLength: 256 },
    ),
    'webhook-timestamp': deliveryHeader(
      'Standard Webhooks: Unix seconds of the delivery; at most 5 minutes from now.',
      '1736935200',
      { pattern: '^\\d{1,12}$' },
    ),
    'webhook-signature': deliveryHeader(
      'Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` signatures. When present, the other two Standard Webhooks headers are required.',
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    ),
    'X-Webhook-Signature': deliveryHeader(
      'HMAC-SHA256 of the raw body, hex, optionally prefixed `sha256=`.',
      HEX_SAMPLE,
    ),
    'X-Hub-Signature-256': deliveryHeader(
      'As `X-Webhook-Signature`, under the name GitHub uses.',
      HEX_SAMPLE,
    ),
    'X-GitHub-Delivery': deliveryHeader(
      'With a hex signature: the delivery id, so a redelivery answers with the first run.',
      '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    ),
    'X-Webhook-Id': deliveryHeader(
      'With a hex signature, when `X-GitHub-Delivery` is absent: the delivery id.',
      'delivery-20250115-0001',
    ),
  }),
  body: {
    schema: WebhookDeliverySchema,
    required: false,
    // Verified over its raw bytes first: read as JSON only once the signature holds.
    read: 'after-auth',
    description: 'Optional: an empty body starts a run without parameters.',
    examples: {
      push: example('Parameters for the template', {
        parameters: { branch_name: 'main', environment: 'production' },
        metadata: { commit: '9fceb02' },
      }),
    },
  },
  response: {
    status: 202,
    description: 'The run, queued (or `skipped` by `overlap_policy: skip`).',
    schema: TriggerResponseSchema,
    examples: { queued: example('Queued', TRIGGERED) },
  },
  errors: {
    400: 'The body is not UTF-8 JSON or not a JSON object.',
    401: {
      description: 'The signature is missing, stale or wrong (one answer for every cause).',
      example: { summary: 'Not verified', error: () => new WebhookRejectedError('bad_signature') },
    },
    404: 'No webhook at this path.',
    409: 'The job is disabled, or its entity or environment is no longer there.',
    413: true,
    422: 'An invalid `parameters`, `config_override` or `metadata`, or a missing template parameter.',
    429: true,
    500: true,
  },
});

/**
 * Served by the webhook function, behind its own API Gateway route. Defined here rather than in the
 * table's index, so the webhook function bundles its own route and not the control plane's.
 */
export const WEBHOOK_ROUTES = { triggerWebhook } as const;

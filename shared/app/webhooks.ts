import * as z from 'zod';
import { ConflictError, JobsServiceError, NotFoundError, PayloadTooLargeError } from '../domain/errors.js';
import type { TriggerResponse } from '../domain/execution.js';
import type { Job } from '../domain/job.js';
import { JsonObjectSchema, parseJsonObject } from '../domain/json.js';
import { runSettings } from '../domain/run-config.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  generateSigningSecret,
  verifyHexHmac,
  verifyStandardWebhook,
} from '../domain/signature.js';
import { parseOrThrow } from '../domain/validation.js';
import type { RateLimiter, SecretBox, WebhookStore } from '../ports.js';
import { webhookSecretContext } from './jobs.js';
import type { RunServiceDeps } from './runs.js';
import { type JobReader, RunService } from './runs.js';

export interface WebhookServiceDeps extends RunServiceDeps {
  webhooks: WebhookStore;
  secrets: SecretBox;
  rateLimiter: RateLimiter;
  /** Accepted distance of `webhook-timestamp` from now. @default 300 */
  toleranceSeconds?: number;
}

/** Largest delivery body. */
export const MAX_WEBHOOK_BODY_BYTES = 256 * 1024;
/** Longest grace a rotated-out secret may keep: a week. */
const MAX_GRACE_SECONDS = 7 * 24 * 3600;
const DEFAULT_GRACE_SECONDS = 24 * 3600;

/** A rejected delivery; `reason` is for metrics and logs only, never for the caller. */
export class WebhookRejectedError extends JobsServiceError {
  readonly statusCode = 401;
  readonly code = 'invalid_signature';
  constructor(readonly reason: string) {
    // One message for every cause: a caller probing learns nothing about which part failed.
    super('The webhook signature could not be verified.');
    this.name = 'WebhookRejectedError';
  }
}

export class RateLimitedError extends JobsServiceError {
  readonly statusCode = 429;
  readonly code = 'rate_limited';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many deliveries for this webhook; retry after ${retryAfterSeconds} s.`);
    this.name = 'RateLimitedError';
  }
}

/**
 * Delivery body. The reference's keys are read; anything else a sender includes (a Git host's own
 * payload) is ignored rather than refused, so such senders can point straight at the URL.
 */
export const WebhookDeliverySchema = z.looseObject({
  parameters: JsonObjectSchema.nullable().optional(),
  config_override: JsonObjectSchema.nullable().optional(),
  metadata: JsonObjectSchema.nullable().optional(),
});

/** Body of `POST /jobs/{id}/webhook-secret/rotate`. */
export const WebhookSecretRotateRequestSchema = z.strictObject({
  grace_seconds: z
    .number()
    .int('must be a whole number of seconds')
    .min(0, 'must not be negative')
    .max(MAX_GRACE_SECONDS, `must be at most ${MAX_GRACE_SECONDS}`)
    .optional(),
});

type Headers = Readonly<Record<string, string | undefined>>;

/** Which scheme signed a delivery and with which of the job's secrets. */
interface Verified {
  scheme: 'standard-webhooks' | 'hmac-sha256';
  secretUsed: 'current' | 'previous';
  deliveryId: string | null;
}

/** Signed webhook deliveries and the secrets behind them. */
export class WebhookService {
  private readonly runs: RunService;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.runs = new RunService(deps);
  }

  /**
   * `POST /webhooks/{path}`: verify the signature over the raw bytes, then start a run. Every
   * rejection happens before anything is written.
   */
  async deliver(path: string, rawBody: Buffer, headers: Headers): Promise<TriggerResponse> {
    if (rawBody.length > MAX_WEBHOOK_BODY_BYTES) throw new PayloadTooLargeError(MAX_WEBHOOK_BODY_BYTES);
    const record = /^[A-Za-z0-9_-]{16,64}$/.test(path) ? await this.deps.webhooks.get(path) : null;
    if (!record) throw new NotFoundError('No webhook at this path.');
    const now = this.deps.clock.now();
    const context = webhookSecretContext(record.jobId);
    const current = await this.deps.secrets.open(record.sealedSecret, context);
    const previousValid =
      record.previousSealedSecret !== null &&
      record.previousValidUntil !== null &&
      Date.parse(record.previousValidUntil) > now.getTime();
    const previous = previousValid
      ? await this.deps.secrets.open(record.previousSealedSecret as string, context)
      : null;
    const verified = this.verify(rawBody, headers, current, previous, now);

    const job = record.job ?? (await this.deps.jobs.get(record.jobId));
    if (!job.enabled) throw new ConflictError(`Job ${job.id} is disabled.`);
    const delivery = this.parseBody(rawBody);
    const outcome = await this.runs.startRun(job, {
      trigger_type: 'webhook',
      parameters: delivery.parameters,
      config_override: delivery.config_override,
      metadata: {
        ...(delivery.metadata ?? {}),
        webhook: { scheme: verified.scheme, delivery_id: verified.deliveryId, secret: verified.secretUsed },
      },
      ...(verified.deliveryId !== null && { dedupeKey: `webhook:${verified.deliveryId}` }),
      // After every check of the run and just before its write, so a refused delivery takes no allowance.
      ...(runSettings(job.config).webhookRateLimit && { beforeWrite: () => this.applyRateLimit(job) }),
    });
    if (record.lastSecretUsed !== verified.secretUsed) {
      // Written when it changes (after a rotation), not on every delivery.
      await this.deps.webhooks.recordDelivery(path, verified.secretUsed).catch((error: unknown) => {
        this.deps.logger.warn('could not record which webhook secret was used', { jobId: job.id, error });
      });
    }
    const { execution } = outcome;
    return {
      workflow_id: execution.workflow_id,
      execution_id: execution.execution_id,
      status: execution.status,
    };
  }

  private verify(
    body: Buffer,
    headers: Headers,
    current: string,
    previous: string | null,
    now: Date,
  ): Verified {
    const candidates: [Verified['secretUsed'], string][] = [['current', current]];
    if (previous !== null) candidates.push(['previous', previous]);
    const standardSignature = headers['webhook-signature'];
    if (standardSignature !== undefined) {
      const id = headers['webhook-id'];
      const timestamp = headers['webhook-timestamp'];
      if (!id || !timestamp) throw new WebhookRejectedError('missing_headers');
      // The id becomes part of a storage key; Standard Webhooks ids are short.
      if (id.length > 256) throw new WebhookRejectedError('bad_id');
      if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookRejectedError('bad_timestamp');
      const tolerance = this.deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
      if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > tolerance)
        throw new WebhookRejectedError('stale');
      for (const [which, secret] of candidates) {
        const input = {
          id,
          timestamp,
          body,
          signatureHeader: standardSignature,
          secrets: [secret],
          now,
          toleranceSeconds: tolerance,
        };
        if (verifyStandardWebhook(input))
          return { scheme: 'standard-webhooks', secretUsed: which, deliveryId: id };
      }
      throw new WebhookRejectedError('bad_signature');
    }
    const hex = headers['x-webhook-signature'] ?? headers['x-hub-signature-256'];
    if (hex === undefined) throw new WebhookRejectedError('missing_signature');
    for (const [which, secret] of candidates) {
      if (verifyHexHmac(body, hex, [secret])) {
        // Git hosts name their deliveries; a redelivery of the same one then returns the first run.
        const deliveryId = headers['x-github-delivery'] ?? headers['x-webhook-id'] ?? null;
        return { scheme: 'hmac-sha256', secretUsed: which, deliveryId: deliveryId?.slice(0, 200) ?? null };
      }
    }
    throw new WebhookRejectedError('bad_signature');
  }

  /** Read as JSON whatever its Content-Type says: the signature vouches for the bytes, and senders differ. */
  private parseBody(rawBody: Buffer): z.infer<typeof WebhookDeliverySchema> {
    if (rawBody.length === 0) return {};
    return parseOrThrow(WebhookDeliverySchema, parseJsonObject(rawBody, 'The delivery body'));
  }

  /** The job's own limit; a delivery's `config_override` cannot lift it. */
  private async applyRateLimit(job: Job): Promise<void> {
    const limit = runSettings(job.config).webhookRateLimit;
    if (!limit) return;
    const taken = await this.deps.rateLimiter.take(job.id, limit.rate, limit.burst);
    if (!taken.allowed) throw new RateLimitedError(taken.retryAfterSeconds);
  }
}

/** `POST /jobs/{id}/webhook-secret/rotate`: a new secret now; the old one verifies for `grace_seconds` more. */
export async function rotateWebhookSecret(
  deps: Pick<WebhookServiceDeps, 'webhooks' | 'secrets' | 'clock' | 'logger'>,
  jobs: JobReader,
  jobId: string,
  body: unknown,
) {
  const { grace_seconds: grace = DEFAULT_GRACE_SECONDS } = parseOrThrow(
    WebhookSecretRotateRequestSchema,
    body,
  );
  const job = await jobs.get(jobId);
  const record = job.webhook_path ? await deps.webhooks.get(job.webhook_path) : null;
  if (!job.webhook_path || !record) {
    throw new ConflictError(`Job ${job.id} is not a webhook job; it has no webhook secret.`);
  }
  const now = deps.clock.now();
  const secret = generateSigningSecret();
  const context = webhookSecretContext(job.id);
  const previousValidUntil = grace > 0 ? new Date(now.getTime() + grace * 1000).toISOString() : null;
  const rotated = await deps.webhooks.rotate(job.webhook_path, record.sealedSecret, {
    sealedSecret: await deps.secrets.seal(secret, context),
    previousSealedSecret: grace > 0 ? record.sealedSecret : null,
    previousValidUntil,
    rotatedAt: now.toISOString(),
  });
  if (!rotated)
    throw new ConflictError('The webhook secret was rotated by another request meanwhile; try again.');
  deps.logger.info('webhook secret rotated', { jobId: job.id, graceSeconds: grace });
  return {
    webhook_secret: secret,
    webhook_secret_rotated_at: now.toISOString(),
    previous_secret_valid_until: previousValidUntil,
  };
}

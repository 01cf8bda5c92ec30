import { ConflictError, NotFoundError, RateLimitedError, WebhookRejectedError } from '../domain/errors.js';
import type { TriggerResponse } from '../domain/execution.js';
import type { Job } from '../domain/job.js';
import { runSettings } from '../domain/run-config.js';
import {
  DEFAULT_TOLERANCE_SECONDS,
  generateSigningSecret,
  verifyHexHmac,
  verifyStandardWebhook,
} from '../domain/signature.js';
import {
  DEFAULT_GRACE_SECONDS,
  type WebhookDelivery,
  type WebhookSecretRotateRequest,
  type WebhookSecretRotation,
} from '../domain/webhook.js';
import type { Clock, Logger, RateLimiter, SecretBox, WebhookStore } from '../ports.js';
import type { ChangeRecorder } from './audit-trail.js';
import { type Deferred, readDeferred } from './deferred.js';
import { webhookSecretContext } from './job-service.js';
import type { JobReader, RunService } from './run-service.js';

// Where the handler and its tests have always found them.
export { RateLimitedError, WebhookRejectedError };

export interface WebhookServiceDeps {
  /** Starts the delivery's run. */
  runs: RunService;
  jobs: JobReader;
  webhooks: WebhookStore;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  rateLimiter: RateLimiter;
  /** Accepted distance of `webhook-timestamp` from now. @default 300 */
  toleranceSeconds?: number;
}

/** How a delivery says it is signed, as its headers carry it (read by the HTTP layer). */
export type DeliverySignature =
  /** Standard Webhooks: `webhook-signature`, with `webhook-id` and `webhook-timestamp` (required, checked here). */
  | { scheme: 'standard-webhooks'; signature: string; id: string | undefined; timestamp: string | undefined }
  /** An HMAC-SHA256 hex digest of the body, with the sender's delivery id when it names one. */
  | { scheme: 'hmac-sha256'; signature: string; deliveryId: string | undefined }
  | { scheme: 'none' };

/** A delivery as it arrived: where, the exact bytes the signature covers, and the signature. */
export interface SignedDelivery {
  path: string;
  rawBody: Buffer;
  signature: DeliverySignature;
}

/** Which scheme signed a delivery and with which of the job's secrets. */
interface Verified {
  scheme: 'standard-webhooks' | 'hmac-sha256';
  secretUsed: 'current' | 'previous';
  deliveryId: string | null;
}

/** Signed webhook deliveries and the secrets behind them. */
export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  /**
   * `POST /webhooks/{path}`: verify the signature over the raw bytes, then start a run. Every
   * rejection happens before anything is written; the body is read only once the signature holds and
   * the job takes deliveries.
   */
  async deliver(
    { path, rawBody, signature }: SignedDelivery,
    body: Deferred<WebhookDelivery>,
  ): Promise<TriggerResponse> {
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
    const verified = this.verify(rawBody, signature, current, previous, now);

    const job = record.job ?? (await this.deps.jobs.get(record.jobId));
    if (!job.enabled) throw new ConflictError(`Job ${job.id} is disabled.`);
    const delivery = readDeferred(body);
    const outcome = await this.deps.runs.startRun(job, {
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
    signature: DeliverySignature,
    current: string,
    previous: string | null,
    now: Date,
  ): Verified {
    const candidates: [Verified['secretUsed'], string][] = [['current', current]];
    if (previous !== null) candidates.push(['previous', previous]);
    if (signature.scheme === 'standard-webhooks') {
      const { id, timestamp } = signature;
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
          signatureHeader: signature.signature,
          secrets: [secret],
          now,
          toleranceSeconds: tolerance,
        };
        if (verifyStandardWebhook(input))
          return { scheme: 'standard-webhooks', secretUsed: which, deliveryId: id };
      }
      throw new WebhookRejectedError('bad_signature');
    }
    if (signature.scheme === 'none') throw new WebhookRejectedError('missing_signature');
    for (const [which, secret] of candidates) {
      if (verifyHexHmac(body, signature.signature, [secret])) {
        // Git hosts name their deliveries; a redelivery of the same one then returns the first run.
        const deliveryId = signature.deliveryId?.slice(0, 200) ?? null;
        return { scheme: 'hmac-sha256', secretUsed: which, deliveryId };
      }
    }
    throw new WebhookRejectedError('bad_signature');
  }

  /** The job's own limit; a delivery's `config_override` cannot lift it. */
  private async applyRateLimit(job: Job): Promise<void> {
    const limit = runSettings(job.config).webhookRateLimit;
    if (!limit) return;
    const taken = await this.deps.rateLimiter.take(job.id, limit.rate, limit.burst);
    if (!taken.allowed) throw new RateLimitedError(taken.retryAfterSeconds);
  }
}

export interface WebhookSecretServiceDeps {
  jobs: JobReader;
  webhooks: WebhookStore;
  secrets: SecretBox;
  clock: Clock;
  logger: Logger;
  /** Records each rotation (the field's name, never the secret). */
  audit: ChangeRecorder;
}

/** What `GET /jobs/{id}` tells of a webhook job's secret. */
export interface WebhookSecretStatus {
  rotatedAt: string | null;
  lastSecretUsed: 'current' | 'previous' | null;
}

/** A webhook job's signing secrets: their rotation, and what is known of their use. */
export class WebhookSecretService {
  constructor(private readonly deps: WebhookSecretServiceDeps) {}

  /** `POST /jobs/{id}/webhook-secret/rotate`: a new secret now; the old one verifies for `grace_seconds` more. */
  async rotate(jobId: string, input: WebhookSecretRotateRequest): Promise<WebhookSecretRotation> {
    const { deps } = this;
    const grace = input.grace_seconds ?? DEFAULT_GRACE_SECONDS;
    const job = await deps.jobs.get(jobId);
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
    await deps.audit.record({
      resource: { type: 'job', id: job.id },
      action: 'webhook_secret_rotated',
      changedFields: ['webhook_secret'],
    });
    return {
      webhook_secret: secret,
      webhook_secret_rotated_at: now.toISOString(),
      previous_secret_valid_until: previousValidUntil,
    };
  }

  /** When a webhook job's secret was rotated and which one verified the latest delivery; null for other jobs. */
  async status(job: Job): Promise<WebhookSecretStatus | null> {
    const record = job.webhook_path ? await this.deps.webhooks.get(job.webhook_path) : null;
    return record && { rotatedAt: record.rotatedAt, lastSecretUsed: record.lastSecretUsed };
  }
}

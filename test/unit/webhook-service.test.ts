import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { webhookSecretContext } from '../../shared/app/job-service.js';
import { RateLimitedError, WebhookRejectedError, WebhookService } from '../../shared/app/webhook-service.js';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../../shared/domain/errors.js';
import type { JobCreateInput } from '../../shared/domain/job.js';
import { generateSigningSecret } from '../../shared/domain/signature.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { httpStatusOf } from '../../shared/http/errors-to-http.js';
import { type HttpRequest, MAX_BODY_BYTES as MAX_WEBHOOK_BODY_BYTES } from '../../shared/http/request.js';
import { readRouteInput } from '../../shared/http/route-input.js';
import { API_ROUTES, WEBHOOK_ROUTES } from '../../shared/http/routes/index.js';
import { signedDelivery } from '../../shared/http/webhook-delivery.js';
import type { RateLimiter } from '../../shared/ports.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryWebhookStore,
  makeEntity,
  openDeployment,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { testServices } from '../support/services.js';

// A whole second, so "exactly 300 s" is exact on both sides of the tolerance check.
const START = Date.parse('2025-06-01T10:00:00.000Z');
const START_SECONDS = START / 1000;
const DAY_MS = 24 * 3600 * 1000;

/** A rate limiter whose answer the test sets; it records every take. */
class FakeRateLimiter implements RateLimiter {
  readonly takes: { key: string; rate: number; burst: number }[] = [];
  answer: { allowed: true } | { allowed: false; retryAfterSeconds: number } = { allowed: true };

  async take(key: string, rate: number, burst: number) {
    this.takes.push({ key, rate, burst });
    return this.answer;
  }
}

/** WebhookService over in-memory stores, a default echo entity and a manual clock. */
async function setup(options: { toleranceSeconds?: number } = {}) {
  const clock = new ManualClock(START);
  const ids = sequentialIds(clock);
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  const jobStore = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const queue = new RecordingQueue();
  const secrets = new FakeSecretBox();
  const webhooks = new MemoryWebhookStore();
  const rateLimiter = new FakeRateLimiter();
  const logger = createLogger({ level: 'silent' });
  const deployment = openDeployment();
  const built = testServices({
    jobStore,
    entities,
    executions,
    queue,
    deployment,
    clock,
    ids,
    logger,
    webhooks,
    secrets,
    rateLimiter,
  });
  const { jobs } = built;
  const webhookService = new WebhookService({
    runs: built.runs,
    jobs,
    webhooks,
    secrets,
    rateLimiter,
    clock,
    logger,
    ...(options.toleranceSeconds !== undefined && { toleranceSeconds: options.toleranceSeconds }),
  });
  /** Deliveries as the webhook route makes them: its inputs read from the request, then the service. */
  const service = {
    deliver: async (path: string, rawBody: Buffer, headers: Record<string, string | undefined>) => {
      const request: HttpRequest = {
        method: 'POST',
        path: `/webhooks/${path}`,
        params: { path },
        headers: Object.fromEntries(
          Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
        ),
        query: {},
        rawBody,
        requestId: 'test',
        baseUrl: 'https://jobs.example.test',
      };
      const input = readRouteInput(WEBHOOK_ROUTES.triggerWebhook, request);
      return webhookService.deliver(signedDelivery(input), input.body);
    },
  };
  const secretService = built.webhookSecrets;

  /** A webhook job and its path record (the memory job store does not write one, so it is seeded here). */
  const createWebhookJob = async (body: Partial<JobCreateInput> = {}) => {
    const job = await jobs.create({
      name: 'hook',
      trigger_type: 'webhook',
      prompt_template: 'Deploy {{ branch }}',
      ...body,
    });
    const path = job.webhook_path as string;
    const secret = job.webhook_secret as string;
    webhooks.records.set(path, {
      path,
      jobId: job.id,
      job: null,
      sealedSecret: await secrets.seal(secret, webhookSecretContext(job.id)),
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: null,
      lastSecretUsed: null,
    });
    return { job, path, secret };
  };
  const executionCount = async (jobId: string) =>
    (await executions.list(jobId, { limit: 100, offset: 0 })).totalCount;
  /** A rotation as its route makes it: the body read by its schema, then the service. */
  const rotate = async (jobId: string, body: unknown = {}) =>
    secretService.rotate(jobId, parseOrThrow(API_ROUTES.rotateWebhookSecret.body.schema, body));

  return {
    clock,
    service,
    jobs,
    executions,
    queue,
    webhooks,
    rateLimiter,
    createWebhookJob,
    executionCount,
    rotate,
  };
}

const BODY = '{"parameters": {"branch": "main"}, "metadata": {"source": "test"}}';
const hexSignature = (body: string | Buffer, secret: string) =>
  createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex');
const buffer = (text: string) => Buffer.from(text, 'utf8');

/** Standard Webhooks headers made by the independent `standardwebhooks` library. */
function standardHeaders(secret: string, id: string, timestampSeconds: number, body: string) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body),
  };
}

/** The rejection `deliver` throws (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the delivery to be rejected');
}

describe('WebhookService.deliver: schemes', () => {
  it('accepts the hex scheme with or without the "sha256=" prefix, under either header name, in any hex case', async () => {
    // Prepare
    const { service, createWebhookJob, executionCount } = await setup();
    const { job, path, secret } = await createWebhookJob();
    const hex = hexSignature(BODY, secret);
    const variants = [
      { 'x-webhook-signature': hex },
      { 'x-webhook-signature': `sha256=${hex}` },
      { 'x-hub-signature-256': `sha256=${hex}` },
      { 'x-hub-signature-256': hex },
      { 'x-webhook-signature': hex.toUpperCase() },
    ];

    // Act
    const results = [];
    for (const headers of variants) results.push(await service.deliver(path, buffer(BODY), headers));

    // Assess
    for (const result of results) expect(result.status).toBe('queued');
    expect(new Set(results.map((result) => result.execution_id)).size).toBe(variants.length);
    expect(await executionCount(job.id)).toBe(variants.length);
  });

  it('records the scheme, delivery id and secret on the execution, and dedupes on the delivery id', async () => {
    // Prepare
    const { clock, service, executions, createWebhookJob } = await setup();
    const { job, path, secret } = await createWebhookJob();
    const standard = standardHeaders(secret, 'msg_1', START_SECONDS, BODY);
    const github = {
      'x-hub-signature-256': `sha256=${hexSignature(BODY, secret)}`,
      'x-github-delivery': 'gh-1',
    };

    // Act
    const viaStandard = await service.deliver(path, buffer(BODY), standard);
    const viaGithub = await service.deliver(path, buffer(BODY), github);
    const viaPlainHex = await service.deliver(path, buffer(BODY), {
      'x-webhook-signature': hexSignature(BODY, secret),
    });
    clock.advance(1000);
    const standardAgain = await service.deliver(
      path,
      buffer(BODY),
      standardHeaders(secret, 'msg_1', START_SECONDS + 1, BODY),
    );
    const githubAgain = await service.deliver(path, buffer(BODY), github);
    const stored = async (id: string) => (await executions.get(job.id, id))?.execution;

    // Assess
    expect((await stored(viaStandard.execution_id))?.metadata).toEqual({
      source: 'test',
      webhook: { scheme: 'standard-webhooks', delivery_id: 'msg_1', secret: 'current' },
    });
    expect((await stored(viaStandard.execution_id))?.dedupe_key).toBe('webhook:msg_1');
    expect((await stored(viaGithub.execution_id))?.metadata.webhook).toEqual({
      scheme: 'hmac-sha256',
      delivery_id: 'gh-1',
      secret: 'current',
    });
    expect((await stored(viaPlainHex.execution_id))?.metadata.webhook).toEqual({
      scheme: 'hmac-sha256',
      delivery_id: null,
      secret: 'current',
    });
    expect((await stored(viaPlainHex.execution_id))?.dedupe_key).toBeNull();
    expect((await stored(viaPlainHex.execution_id))?.trigger_type).toBe('webhook');
    expect(standardAgain.execution_id).toBe(viaStandard.execution_id);
    expect(githubAgain.execution_id).toBe(viaGithub.execution_id);
  });

  it('judges a delivery carrying webhook-signature by Standard Webhooks alone: a valid hex header does not rescue it', async () => {
    // Prepare
    const { service, createWebhookJob, executionCount } = await setup();
    const { job, path, secret } = await createWebhookJob();
    const headers = {
      ...standardHeaders(generateSigningSecret(), 'msg_x', START_SECONDS, BODY),
      'x-webhook-signature': hexSignature(BODY, secret),
    };

    // Act
    const error = await rejectionOf(service.deliver(path, buffer(BODY), headers));

    // Assess
    expect(error).toBeInstanceOf(WebhookRejectedError);
    expect((error as WebhookRejectedError).reason).toBe('bad_signature');
    expect(await executionCount(job.id)).toBe(0);
  });
});

describe('WebhookService.deliver: rejections', () => {
  it('names each 401 cause in `reason`, with one message and status for all, and stores nothing', async () => {
    // Prepare
    const { service, queue, webhooks, rateLimiter, createWebhookJob, executionCount } = await setup();
    const { job, path, secret } = await createWebhookJob();
    const signedStandard = standardHeaders(secret, 'msg_r', START_SECONDS, BODY);
    const cases: [string, Record<string, string>][] = [
      ['missing_signature', {}],
      ['missing_signature', { 'x-github-delivery': 'gh-1' }],
      ['bad_signature', { 'x-webhook-signature': hexSignature(`${BODY} `, secret) }],
      ['bad_signature', { 'x-webhook-signature': hexSignature(BODY, generateSigningSecret()) }],
      ['bad_signature', { 'x-webhook-signature': 'not hex at all' }],
      ['bad_signature', standardHeaders(secret, 'msg_r', START_SECONDS, `${BODY} `)],
      ['stale', standardHeaders(secret, 'msg_r', START_SECONDS - 301, BODY)],
      ['missing_headers', { ...signedStandard, 'webhook-id': '' }],
      [
        'missing_headers',
        { 'webhook-signature': signedStandard['webhook-signature'], 'webhook-id': 'msg_r' },
      ],
      ['bad_timestamp', { ...signedStandard, 'webhook-timestamp': 'yesterday' }],
      ['bad_timestamp', { ...signedStandard, 'webhook-timestamp': `-${START_SECONDS}` }],
    ];

    // Act
    const errors = [];
    for (const [, headers] of cases)
      errors.push(await rejectionOf(service.deliver(path, buffer(BODY), headers)));

    // Assess
    for (const [index, [reason]] of cases.entries()) {
      const error = errors[index] as WebhookRejectedError;
      expect(error, `case ${index}`).toBeInstanceOf(WebhookRejectedError);
      expect(error.reason, `case ${index}`).toBe(reason);
      expect(httpStatusOf(error)).toBe(401);
    }
    expect(new Set(errors.map((error) => (error as Error).message)).size).toBe(1);
    expect(await executionCount(job.id)).toBe(0);
    expect(queue.sent).toEqual([]);
    expect(rateLimiter.takes).toEqual([]);
    expect(webhooks.records.get(path)?.lastSecretUsed).toBeNull();
  });

  it('accepts a timestamp exactly 300 s either side of now and refuses 301 s', async () => {
    // Prepare
    const { service, createWebhookJob } = await setup();
    const { path, secret } = await createWebhookJob();
    const at = (offset: number, id: string) =>
      service.deliver(path, buffer(BODY), standardHeaders(secret, id, START_SECONDS + offset, BODY));

    // Act
    const past = await at(-300, 'msg_past');
    const future = await at(300, 'msg_future');
    const tooOld = await rejectionOf(at(-301, 'msg_too_old'));
    const tooNew = await rejectionOf(at(301, 'msg_too_new'));

    // Assess
    expect(past.status).toBe('queued');
    expect(future.status).toBe('queued');
    expect((tooOld as WebhookRejectedError).reason).toBe('stale');
    expect((tooNew as WebhookRejectedError).reason).toBe('stale');
  });

  it('uses the configured tolerance', async () => {
    // Prepare
    const { service, createWebhookJob } = await setup({ toleranceSeconds: 60 });
    const { path, secret } = await createWebhookJob();

    // Act
    const inside = await service.deliver(
      path,
      buffer(BODY),
      standardHeaders(secret, 'msg_a', START_SECONDS - 60, BODY),
    );
    const outside = await rejectionOf(
      service.deliver(path, buffer(BODY), standardHeaders(secret, 'msg_b', START_SECONDS - 61, BODY)),
    );

    // Assess
    expect(inside.status).toBe('queued');
    expect((outside as WebhookRejectedError).reason).toBe('stale');
  });

  it('answers 404 for unknown or malformed paths, 409 for a disabled job, 413 past 256 KiB, 400 for malformed JSON and 422 for missing parameters', async () => {
    // Prepare
    const { service, createWebhookJob, executionCount } = await setup();
    const { job, path, secret } = await createWebhookJob({
      prompt_template: 'Deploy {{ branch }} to {{ env }}',
    });
    const disabled = await createWebhookJob({ enabled: false });
    const sign = (body: string | Buffer, key = secret) => ({
      'x-webhook-signature': hexSignature(body, key),
    });
    const oversized = `{"parameters": {"branch": "main", "env": "x"}, "pad": "${'x'.repeat(MAX_WEBHOOK_BODY_BYTES)}"}`;
    const malformed = '{"parameters": {"branch": ';
    const missing = '{"parameters": {"other": 1}}';

    // Act
    const unknownPath = await rejectionOf(service.deliver('A'.repeat(32), buffer(BODY), sign(BODY)));
    const badPath = await rejectionOf(service.deliver('../etc', buffer(BODY), sign(BODY)));
    const disabledJob = await rejectionOf(
      service.deliver(disabled.path, buffer(BODY), sign(BODY, disabled.secret)),
    );
    const tooLarge = await rejectionOf(service.deliver(path, buffer(oversized), sign(oversized)));
    const badJson = await rejectionOf(service.deliver(path, buffer(malformed), sign(malformed)));
    const notObject = await rejectionOf(service.deliver(path, buffer('[1, 2]'), sign('[1, 2]')));
    const badUtf8 = Buffer.from([0x7b, 0xff, 0x7d]);
    const invalidUtf8 = await rejectionOf(service.deliver(path, badUtf8, sign(badUtf8)));
    const missingParameters = await rejectionOf(service.deliver(path, buffer(missing), sign(missing)));

    // Assess
    expect(unknownPath).toBeInstanceOf(NotFoundError);
    expect(badPath).toBeInstanceOf(NotFoundError);
    expect(disabledJob).toBeInstanceOf(ConflictError);
    expect(tooLarge).toBeInstanceOf(PayloadTooLargeError);
    expect(badJson).toBeInstanceOf(BadRequestError);
    expect((badJson as BadRequestError).code).toBe('malformed_json');
    expect(notObject).toBeInstanceOf(BadRequestError);
    expect(invalidUtf8).toBeInstanceOf(BadRequestError);
    expect(missingParameters).toBeInstanceOf(ValidationError);
    expect((missingParameters as ValidationError).details.map((detail) => detail.path)).toEqual([
      'parameters.branch',
      'parameters.env',
    ]);
    expect(await executionCount(job.id)).toBe(0);
    expect(await executionCount(disabled.job.id)).toBe(0);
  });

  it('accepts a body of exactly 256 KiB and refuses one byte more before looking at the path', async () => {
    // Prepare
    const { service, createWebhookJob } = await setup();
    const { path, secret } = await createWebhookJob();
    const atLimit = BODY.padEnd(MAX_WEBHOOK_BODY_BYTES, ' ');
    const overLimit = `${atLimit} `;

    // Act
    const accepted = await service.deliver(path, buffer(atLimit), {
      'x-webhook-signature': hexSignature(atLimit, secret),
    });
    const unknownPathOverLimit = await rejectionOf(service.deliver('B'.repeat(32), buffer(overLimit), {}));

    // Assess
    expect(accepted.status).toBe('queued');
    expect(unknownPathOverLimit).toBeInstanceOf(PayloadTooLargeError);
  });

  it('applies the job’s rate limit after verifying, and a refused delivery stores nothing', async () => {
    // Prepare
    const { service, rateLimiter, createWebhookJob, executionCount } = await setup();
    const { job, path, secret } = await createWebhookJob({
      config: { webhook_rate_limit: { requests_per_second: 2.5, burst: 4 } },
    });
    const unlimited = await createWebhookJob();
    const headers = { 'x-webhook-signature': hexSignature(BODY, secret) };

    // Act
    const allowed = await service.deliver(path, buffer(BODY), headers);
    rateLimiter.answer = { allowed: false, retryAfterSeconds: 3 };
    const limited = await rejectionOf(service.deliver(path, buffer(BODY), headers));
    const forged = await rejectionOf(
      service.deliver(path, buffer(BODY), { 'x-webhook-signature': hexSignature(BODY, 'wrong') }),
    );
    const other = await service.deliver(unlimited.path, buffer(BODY), {
      'x-webhook-signature': hexSignature(BODY, unlimited.secret),
    });

    // Assess
    expect(allowed.status).toBe('queued');
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect(httpStatusOf(limited)).toBe(429);
    expect((limited as RateLimitedError).retryAfterSeconds).toBe(3);
    expect(forged).toBeInstanceOf(WebhookRejectedError);
    expect(other.status).toBe('queued');
    // Only the limited job's verified deliveries took from its allowance.
    expect(rateLimiter.takes).toEqual([
      { key: job.id, rate: 2.5, burst: 4 },
      { key: job.id, rate: 2.5, burst: 4 },
    ]);
    expect(await executionCount(job.id)).toBe(1);
  });

  it('answers a replay of a known delivery id with its first run, taking no allowance, even when none is left', async () => {
    // Prepare
    const { clock, service, rateLimiter, createWebhookJob, executionCount } = await setup();
    const { job, path, secret } = await createWebhookJob({
      config: { webhook_rate_limit: { requests_per_second: 1, burst: 1 } },
    });
    const github = (id: string) => ({
      'x-hub-signature-256': `sha256=${hexSignature(BODY, secret)}`,
      'x-github-delivery': id,
    });
    const first = await service.deliver(path, buffer(BODY), github('gh-1'));
    const standard = await service.deliver(
      path,
      buffer(BODY),
      standardHeaders(secret, 'msg_1', START_SECONDS, BODY),
    );
    const takenBefore = rateLimiter.takes.length;
    rateLimiter.answer = { allowed: false, retryAfterSeconds: 5 };
    clock.advance(1000);

    // Act
    const replays = [
      await service.deliver(path, buffer(BODY), github('gh-1')),
      await service.deliver(path, buffer(BODY), github('gh-1')),
      await service.deliver(path, buffer(BODY), standardHeaders(secret, 'msg_1', START_SECONDS + 1, BODY)),
    ];
    const takenByReplays = rateLimiter.takes.length - takenBefore;
    const fresh = await rejectionOf(service.deliver(path, buffer(BODY), github('gh-2')));

    // Assess
    expect(replays).toEqual([first, first, standard]);
    expect(takenByReplays).toBe(0);
    expect(fresh).toBeInstanceOf(RateLimitedError);
    expect(rateLimiter.takes).toHaveLength(takenBefore + 1);
    expect(await executionCount(job.id)).toBe(2);
  });

  it('refuses a lone UTF-16 surrogate in a delivery with a 422 naming the field, and stores nothing', async () => {
    // Prepare
    const { service, createWebhookJob, executionCount } = await setup();
    const { job, path, secret } = await createWebhookJob();
    const body = '{"parameters": {"branch": "main\\ud800"}}';

    // Act
    const refused = await rejectionOf(
      service.deliver(path, buffer(body), { 'x-webhook-signature': hexSignature(body, secret) }),
    );

    // Assess
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).details).toEqual([
      { path: 'parameters.branch', message: expect.stringContaining('surrogate'), code: 'invalid_string' },
    ]);
    expect(await executionCount(job.id)).toBe(0);
  });

  it('ignores keys a sender adds beyond parameters, config_override and metadata', async () => {
    // Prepare
    const { service, executions, createWebhookJob } = await setup();
    const { job, path, secret } = await createWebhookJob({ prompt_template: 'CI run' });
    const body =
      '{"ref": "refs/heads/main", "repository": {"full_name": "o/r"}, "config_override": {"timeout": 60}}';

    // Act
    const result = await service.deliver(path, buffer(body), {
      'x-hub-signature-256': `sha256=${hexSignature(body, secret)}`,
    });
    const execution = (await executions.get(job.id, result.execution_id))?.execution;

    // Assess
    expect(execution?.prompt).toBe('CI run');
    expect(execution?.config).toMatchObject({ timeout: 60 });
    expect(execution?.parameters).toEqual({});
  });
});

describe('rotateWebhookSecret: concurrent rotations', () => {
  it('lets exactly one of two rotations that read the same secret win; the other is a 409', async () => {
    // Prepare
    const { webhooks, createWebhookJob, rotate } = await setup();
    const { job, path } = await createWebhookJob();
    // Both rotations read the secret before either writes: hold each read until the other has read too.
    const get = webhooks.get.bind(webhooks);
    let reads = 0;
    let release: () => void = () => undefined;
    const bothRead = new Promise<void>((resolve) => {
      release = resolve;
    });
    webhooks.get = async (wanted) => {
      const record = await get(wanted);
      if (++reads === 2) release();
      await bothRead;
      return record;
    };

    // Act
    const outcomes = await Promise.allSettled([
      rotate(job.id, { grace_seconds: 3600 }),
      rotate(job.id, { grace_seconds: 3600 }),
    ]);

    // Assess
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = outcomes.find((outcome) => outcome.status === 'rejected');
    expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(ConflictError);
    const won = outcomes.find((outcome) => outcome.status === 'fulfilled');
    const stored = await get(path);
    expect(won?.status === 'fulfilled' && won.value.webhook_secret_rotated_at).toBe(stored?.rotatedAt);
  });
});

describe('WebhookService.deliver: the previous secret', () => {
  it('verifies until just before previous_valid_until and not at that instant', async () => {
    // Prepare
    const { clock, service, webhooks, createWebhookJob, rotate, executionCount } = await setup();
    const { job, path, secret: old } = await createWebhookJob();
    const rotated = await rotate(job.id, { grace_seconds: 600 });
    const deliverWithOld = () =>
      service.deliver(path, buffer(BODY), { 'x-webhook-signature': hexSignature(BODY, old) });

    // Act
    clock.advance(600_000 - 1);
    const lastMoment = await deliverWithOld();
    const usedThen = webhooks.records.get(path)?.lastSecretUsed;
    clock.advance(1);
    const expired = await rejectionOf(deliverWithOld());
    const withNew = await service.deliver(path, buffer(BODY), {
      'x-webhook-signature': hexSignature(BODY, rotated.webhook_secret),
    });

    // Assess
    expect(rotated.previous_secret_valid_until).toBe(new Date(START + 600_000).toISOString());
    expect(lastMoment.status).toBe('queued');
    expect(usedThen).toBe('previous');
    expect((expired as WebhookRejectedError).reason).toBe('bad_signature');
    expect(withNew.status).toBe('queued');
    expect(webhooks.records.get(path)?.lastSecretUsed).toBe('current');
    expect(await executionCount(job.id)).toBe(2);
  });

  it('accepts the previous secret with Standard Webhooks too', async () => {
    // Prepare
    const { service, executions, createWebhookJob, rotate } = await setup();
    const { job, path, secret: old } = await createWebhookJob();
    await rotate(job.id);

    // Act
    const result = await service.deliver(
      path,
      buffer(BODY),
      standardHeaders(old, 'msg_old', START_SECONDS, BODY),
    );

    // Assess
    expect((await executions.get(job.id, result.execution_id))?.execution.metadata.webhook).toEqual({
      scheme: 'standard-webhooks',
      delivery_id: 'msg_old',
      secret: 'previous',
    });
  });
});

describe('rotateWebhookSecret', () => {
  it('with grace 0 revokes the old secret at once', async () => {
    // Prepare
    const { service, webhooks, createWebhookJob, rotate, executionCount } = await setup();
    const { job, path, secret: old } = await createWebhookJob();

    // Act
    const rotated = await rotate(job.id, { grace_seconds: 0 });
    const withOld = await rejectionOf(
      service.deliver(path, buffer(BODY), { 'x-webhook-signature': hexSignature(BODY, old) }),
    );
    const withNew = await service.deliver(path, buffer(BODY), {
      'x-webhook-signature': hexSignature(BODY, rotated.webhook_secret),
    });

    // Assess
    expect(rotated).toEqual({
      webhook_secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
      webhook_secret_rotated_at: new Date(START).toISOString(),
      previous_secret_valid_until: null,
    });
    expect(rotated.webhook_secret).not.toBe(old);
    expect(webhooks.records.get(path)).toMatchObject({
      previousSealedSecret: null,
      previousValidUntil: null,
      rotatedAt: new Date(START).toISOString(),
    });
    expect(withOld).toBeInstanceOf(WebhookRejectedError);
    expect(withNew.status).toBe('queued');
    expect(await executionCount(job.id)).toBe(1);
  });

  it('keeps the old secret 24 h by default and at most a week when asked', async () => {
    // Prepare
    const { createWebhookJob, rotate, webhooks } = await setup();
    const first = await createWebhookJob();
    const second = await createWebhookJob();

    // Act
    const byDefault = await rotate(first.job.id);
    const longest = await rotate(second.job.id, { grace_seconds: 7 * 24 * 3600 });

    // Assess
    expect(byDefault.previous_secret_valid_until).toBe(new Date(START + DAY_MS).toISOString());
    expect(longest.previous_secret_valid_until).toBe(new Date(START + 7 * DAY_MS).toISOString());
    expect(webhooks.records.get(first.path)?.previousSealedSecret).not.toBeNull();
    expect(webhooks.records.get(first.path)?.lastSecretUsed).toBeNull();
  });

  it('refuses a grace_seconds that is negative, fractional, not a number or over a week, naming the field', async () => {
    // Prepare
    const { createWebhookJob, rotate, webhooks } = await setup();
    const { job, path } = await createWebhookJob();
    const before = webhooks.records.get(path);
    const bodies = [
      { grace_seconds: -1 },
      { grace_seconds: 1.5 },
      { grace_seconds: '60' },
      { grace_seconds: 7 * 24 * 3600 + 1 },
    ];

    // Act
    const errors = [];
    for (const body of bodies) errors.push(await rejectionOf(rotate(job.id, body)));
    const unknownField = await rejectionOf(rotate(job.id, { grace: 10 }));

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details.map((detail) => detail.path)).toEqual(['grace_seconds']);
    }
    expect(unknownField).toBeInstanceOf(ValidationError);
    expect(webhooks.records.get(path)).toEqual(before);
  });

  it('answers 409 for a job that is not a webhook job and 404 for an unknown one', async () => {
    // Prepare
    const { jobs, rotate } = await setup();
    const manual = await jobs.create({ name: 'manual', trigger_type: 'manual', prompt_template: 'p' });

    // Act
    const notWebhook = await rejectionOf(rotate(manual.id));
    const unknown = await rejectionOf(rotate('job_00000000-0000-4000-8000-999999999999'));

    // Assess
    expect(notWebhook).toBeInstanceOf(ConflictError);
    expect(httpStatusOf(notWebhook)).toBe(409);
    expect(unknown).toBeInstanceOf(NotFoundError);
  });
});

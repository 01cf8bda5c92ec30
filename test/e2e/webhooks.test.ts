import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ControlPlaneClient,
  type Job,
  type JobCreateInput,
  JobError,
  signWebhookPayload,
  standardWebhookHeaders,
} from '../../sdk/index.js';
import { startTestRuntime, type TestRuntime, waitForExecution } from '../support/local-runtime.js';
import { DEPLOY_ON_PUSH, DEPLOYMENT_TEAM } from '../support/reference-jobs.js';

let runtime: TestRuntime;
let client: ControlPlaneClient;

beforeAll(async () => {
  runtime = await startTestRuntime();
  client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
  await client.entities.create({
    id: 'echo',
    type: 'agent',
    name: 'Echo',
    target: { type: 'echo' },
    default: true,
  });
  // The reference's webhook job names this team; here it answers with the echo target.
  await client.entities.create(DEPLOYMENT_TEAM);
});

afterAll(async () => {
  await runtime?.cleanup();
});

type WebhookJob = Job & { webhook_path: string; webhook_secret: string };

async function createWebhookJob(body: Partial<JobCreateInput> = {}): Promise<WebhookJob> {
  const job = await client.jobs.create({
    name: 'hook',
    trigger_type: 'webhook',
    prompt_template: 'Deploy {{ branch_name }}',
    ...body,
  });
  return job as WebhookJob;
}

/** A delivery as an external sender makes it: raw bytes, no API key. */
function deliver(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return fetch(`${runtime.url}/webhooks/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

/** The reference's scheme, computed independently of the service: hex HMAC-SHA256 keyed with the secret's UTF-8 bytes. */
const hexSignature = (body: string | Buffer, secret: string) =>
  createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex');

/** Standard Webhooks headers made by the `standardwebhooks` package. */
function standardHeaders(secret: string, id: string, body: string, at = new Date()) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

const executionCount = async (jobId: string) => (await client.jobs.getExecutions(jobId)).total_count;

/** `printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //'`, without a shell. */
function opensslHmac(body: string, secret: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['dgst', '-sha256', '-hmac', secret], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`openssl exited with ${code}: ${err}`));
      else resolve(out.trim().replace(/^.* /, ''));
    });
    child.stdin.end(body, 'utf8');
  });
}

describe('webhook jobs', () => {
  it('are created with a webhook_url and a whsec_ secret shown only then; GET shows the rotation state', async () => {
    // Prepare
    const created = await createWebhookJob({ name: 'shown once' });

    // Act
    const got = await client.jobs.get(created.id);
    const listed = await client.jobs.list({ trigger_type: 'webhook' });
    const updated = await client.jobs.update(created.id, { description: 'renamed' });
    const signed = signWebhookPayload({ parameters: { branch_name: 'main' } }, created.webhook_secret);
    await client.jobs.triggerWebhook({
      webhook_path: created.webhook_path,
      payload: signed.body,
      signature: signed.signature,
    });
    const afterDelivery = await client.jobs.get(created.id);

    // Assess
    expect(created.webhook_path).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(created.webhook_url).toBe(`${runtime.url}/webhooks/${created.webhook_path}`);
    expect(created.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(
      Buffer.from(created.webhook_secret.slice('whsec_'.length), 'base64').length,
    ).toBeGreaterThanOrEqual(32);
    expect(got).not.toHaveProperty('webhook_secret');
    expect(got.webhook_url).toBe(created.webhook_url);
    expect(got.webhook_secret_rotated_at).toBeNull();
    expect(got.webhook_last_secret_used).toBeNull();
    expect(listed.map((job) => job.id)).toContain(created.id);
    for (const job of listed) expect(job).not.toHaveProperty('webhook_secret');
    expect(JSON.stringify([got, listed, updated, afterDelivery])).not.toContain(
      created.webhook_secret.slice('whsec_'.length),
    );
    expect(updated.webhook_path).toBe(created.webhook_path);
    expect(afterDelivery.webhook_last_secret_used).toBe('current');
  });
});

describe('deliveries that are accepted', () => {
  it('the reference’s "Webhook Triggers" example: json.dumps bytes signed with the secret, through trigger_webhook', async () => {
    // Prepare
    const job = (await client.jobs.create(DEPLOY_ON_PUSH)) as WebhookJob;
    // Python's json.dumps(payload): ", " and ": " separators, keys in insertion order.
    const payloadBytes =
      '{"parameters": {"branch_name": "feature-x", "environment": "staging"}, "metadata": {"source": "github", "commit": "abc123"}}';
    const signature = createHmac('sha256', Buffer.from(job.webhook_secret, 'utf8'))
      .update(Buffer.from(payloadBytes, 'utf8'))
      .digest('hex');
    const reserialized = JSON.stringify(JSON.parse(payloadBytes));

    // Act
    const result = await client.jobs.trigger_webhook({
      webhook_path: job.webhook_path,
      payload: payloadBytes,
      signature,
    });
    const execution = await waitForExecution(client, job.id, result.execution_id);
    const reserializedResponse = await deliver(job.webhook_path, reserialized, {
      'x-webhook-signature': signature,
    });

    // Assess
    expect(Object.keys(result).sort()).toEqual(['execution_id', 'status', 'workflow_id']);
    expect(result.workflow_id).toMatch(/^wf_/);
    expect(result.status).toBe('queued');
    expect(execution.status).toBe('succeeded');
    expect(execution.prompt).toBe('Deploy branch feature-x to staging ');
    expect(execution.trigger_type).toBe('webhook');
    expect(execution.entity_id).toBe('deployment-team-uuid');
    expect(execution.parameters).toEqual({ branch_name: 'feature-x', environment: 'staging' });
    expect(execution.metadata).toMatchObject({
      source: 'github',
      commit: 'abc123',
      webhook: { scheme: 'hmac-sha256', secret: 'current' },
    });
    // The signature covers the bytes sent: the same JSON serialized otherwise is not what was signed.
    expect(reserialized).not.toBe(payloadBytes);
    expect(reserializedResponse.status).toBe(401);
    expect(await executionCount(job.id)).toBe(1);
  });

  it('a GitHub-style delivery signed by @octokit/webhooks-methods; a redelivery returns the same execution', async () => {
    // Prepare
    const job = await createWebhookJob({ prompt_template: 'Run CI for the push' });
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: 'abc123',
      repository: { full_name: 'acme/app' },
    });
    const headers = {
      'x-hub-signature-256': await signGithub(job.webhook_secret, body),
      'x-github-delivery': randomUUID(),
      'x-github-event': 'push',
      'user-agent': 'GitHub-Hookshot/test',
    };

    // Act
    const first = await deliver(job.webhook_path, body, headers);
    const firstBody = (await first.json()) as { execution_id: string };
    const redelivery = await deliver(job.webhook_path, body, headers);
    const redeliveryBody = (await redelivery.json()) as { execution_id: string };
    const execution = await client.jobs.getExecution(job.id, firstBody.execution_id);

    // Assess
    expect(headers['x-hub-signature-256']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(first.status).toBe(202);
    expect(redelivery.status).toBe(202);
    expect(redeliveryBody.execution_id).toBe(firstBody.execution_id);
    expect(execution.metadata).toMatchObject({
      webhook: { scheme: 'hmac-sha256', delivery_id: headers['x-github-delivery'] },
    });
    expect(await executionCount(job.id)).toBe(1);
  });

  it('a Standard Webhooks delivery signed by the standardwebhooks package; a replayed webhook-id returns the first execution', async () => {
    // Prepare
    const job = await createWebhookJob();
    const body = JSON.stringify({ parameters: { branch_name: 'release' }, metadata: { by: 'standard' } });
    const id = `msg_${randomUUID()}`;
    const headers = standardHeaders(job.webhook_secret, id, body);

    // Act
    const first = await deliver(job.webhook_path, body, headers);
    const firstBody = (await first.json()) as { execution_id: string };
    const replay = await deliver(job.webhook_path, body, headers);
    const replayBody = (await replay.json()) as { execution_id: string };
    const resigned = await deliver(
      job.webhook_path,
      body,
      standardHeaders(job.webhook_secret, id, body, new Date(Date.now() + 1000)),
    );
    const resignedBody = (await resigned.json()) as { execution_id: string };
    const viaSdkHelper = standardWebhookHeaders(body, job.webhook_secret, { id: `msg_${randomUUID()}` });
    const other = await deliver(job.webhook_path, viaSdkHelper.body, viaSdkHelper.headers);
    const execution = await client.jobs.getExecution(job.id, firstBody.execution_id);

    // Assess
    expect(first.status).toBe(202);
    expect(replay.status).toBe(202);
    expect(replayBody.execution_id).toBe(firstBody.execution_id);
    expect(resigned.status).toBe(202);
    expect(resignedBody.execution_id).toBe(firstBody.execution_id);
    expect(other.status).toBe(202);
    expect(execution.metadata).toEqual({
      by: 'standard',
      webhook: { scheme: 'standard-webhooks', delivery_id: id, secret: 'current' },
    });
    expect(execution.dedupe_key).toBe(`webhook:${id}`);
    expect(await executionCount(job.id)).toBe(2);
  });

  it('the README flow: a signature from `openssl dgst -sha256 -hmac "$SECRET"`, POSTed without the SDK', async () => {
    // Prepare
    const createResponse = await fetch(`${runtime.url}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
      body: '{"name": "Deploy on Push", "trigger_type": "webhook", "prompt_template": "Deploy {{ branch_name }}"}',
    });
    const job = (await createResponse.json()) as WebhookJob & { webhook_url: string };
    const body = '{"parameters": {"branch_name": "feature-x"}, "metadata": {"source": "ci"}}';
    const signature = await opensslHmac(body, job.webhook_secret);

    // Act
    const response = await fetch(job.webhook_url, {
      method: 'POST',
      headers: { 'X-Webhook-Signature': signature, 'Content-Type': 'application/json' },
      body,
    });
    const result = (await response.json()) as { execution_id: string; workflow_id: string; status: string };
    const execution = await waitForExecution(client, job.id, result.execution_id);

    // Assess
    expect(signature).toBe(hexSignature(body, job.webhook_secret));
    expect(response.status).toBe(202);
    expect(result.status).toBe('queued');
    expect(result.workflow_id).toMatch(/^wf_/);
    expect(execution.status).toBe('succeeded');
    expect(execution.prompt).toBe('Deploy feature-x');
    expect(execution.metadata).toMatchObject({ source: 'ci' });
  });
});

describe('deliveries that are refused', () => {
  it('each gets its status and leaves no execution; every 401 says the same thing', async () => {
    // Prepare
    const job = await createWebhookJob({ prompt_template: 'Deploy {{ branch_name }} to {{ environment }}' });
    const disabled = await createWebhookJob({ enabled: false });
    const secret = job.webhook_secret;
    const body = '{"parameters": {"branch_name": "main", "environment": "staging"}}';
    const sign = (bytes: string, key = secret) => ({ 'x-webhook-signature': hexSignature(bytes, key) });
    const oversized = `{"parameters": {"branch_name": "main", "environment": "x"}, "pad": "${'x'.repeat(256 * 1024)}"}`;
    const malformed = '{"parameters": {"branch_name": "main", ';
    const missing = '{"parameters": {"branch_name": "main"}}';
    const sixMinutesAgo = new Date(Date.now() - 6 * 60 * 1000);

    // Act
    const tampered = await deliver(job.webhook_path, body.replace('staging', 'production'), sign(body));
    const wrongSecret = await deliver(
      job.webhook_path,
      body,
      sign(body, `whsec_${randomBytes(32).toString('base64')}`),
    );
    const stale = await deliver(
      job.webhook_path,
      body,
      standardHeaders(secret, `msg_${randomUUID()}`, body, sixMinutesAgo),
    );
    const unsigned = await deliver(job.webhook_path, body);
    const unknownPath = await deliver(randomBytes(24).toString('base64url'), body, sign(body));
    const disabledJob = await deliver(disabled.webhook_path, body, sign(body, disabled.webhook_secret));
    const tooLarge = await deliver(job.webhook_path, oversized, sign(oversized));
    const malformedJson = await deliver(job.webhook_path, malformed, sign(malformed));
    const missingParameters = await deliver(job.webhook_path, missing, sign(missing));
    const unauthorized = [tampered, wrongSecret, stale, unsigned];
    const unauthorizedBodies = await Promise.all(unauthorized.map((response) => response.text()));
    const missingBody = (await missingParameters.json()) as { error: { details: { path: string }[] } };

    // Assess
    expect(unauthorized.map((response) => response.status)).toEqual([401, 401, 401, 401]);
    expect(new Set(unauthorizedBodies).size).toBe(1);
    expect(JSON.parse(unauthorizedBodies[0] as string)).toMatchObject({
      error: { code: 'invalid_signature' },
    });
    expect(unknownPath.status).toBe(404);
    expect(disabledJob.status).toBe(409);
    expect(tooLarge.status).toBe(413);
    expect(malformedJson.status).toBe(400);
    expect(missingParameters.status).toBe(422);
    expect(missingBody.error.details.map((detail) => detail.path)).toEqual(['parameters.environment']);
    expect(await executionCount(job.id)).toBe(0);
    expect(await executionCount(disabled.id)).toBe(0);
  });

  it('after a rotation the old secret works for the grace period (reported as "previous"), and not at all after grace 0', async () => {
    // Prepare
    const job = await createWebhookJob();
    const body = '{"parameters": {"branch_name": "main"}}';
    const withSecret = (secret: string) =>
      deliver(job.webhook_path, body, { 'x-webhook-signature': hexSignature(body, secret) });
    const original = job.webhook_secret;

    // Act
    const graceful = await client.jobs.rotateWebhookSecret(job.id);
    const oldDuringGrace = await withSecret(original);
    const afterOld = await client.jobs.get(job.id);
    const newSecret = await withSecret(graceful.webhook_secret);
    const afterNew = await client.jobs.get(job.id);
    const countBeforeRevoke = await executionCount(job.id);
    const revoking = await client.jobs.rotateWebhookSecret(job.id, { grace_seconds: 0 });
    const revoked = await withSecret(graceful.webhook_secret);
    const oldest = await withSecret(original);
    const countAfterRefusals = await executionCount(job.id);
    const latest = await withSecret(revoking.webhook_secret);

    // Assess
    expect(graceful.webhook_secret).toMatch(/^whsec_/);
    expect(graceful.webhook_secret).not.toBe(original);
    expect(
      Date.parse(graceful.previous_secret_valid_until as string) -
        Date.parse(graceful.webhook_secret_rotated_at),
    ).toBe(24 * 3600 * 1000);
    expect(oldDuringGrace.status).toBe(202);
    expect(afterOld.webhook_secret_rotated_at).toBe(graceful.webhook_secret_rotated_at);
    expect(afterOld.webhook_last_secret_used).toBe('previous');
    expect(newSecret.status).toBe(202);
    expect(afterNew.webhook_last_secret_used).toBe('current');
    expect(revoking.previous_secret_valid_until).toBeNull();
    expect(revoked.status).toBe(401);
    expect(oldest.status).toBe(401);
    expect(countBeforeRevoke).toBe(2);
    expect(countAfterRefusals).toBe(2);
    expect(latest.status).toBe(202);
    expect(await executionCount(job.id)).toBe(3);
  });

  it('rotation answers 409 for a job that is not a webhook job and 422 for a bad grace_seconds', async () => {
    // Prepare
    const manual = await client.jobs.create({ name: 'manual', trigger_type: 'manual', prompt_template: 'p' });
    const hook = await createWebhookJob();

    // Act
    const notWebhook = await client.jobs.rotateWebhookSecret(manual.id).catch((error: unknown) => error);
    const negative = await client.jobs
      .rotateWebhookSecret(hook.id, { grace_seconds: -1 })
      .catch((error: unknown) => error);

    // Assess
    expect(notWebhook).toBeInstanceOf(JobError);
    expect((notWebhook as JobError).status).toBe(409);
    expect(negative).toBeInstanceOf(JobError);
    expect((negative as JobError).status).toBe(422);
    expect((negative as JobError).details.map((detail) => detail.path)).toEqual(['grace_seconds']);
  });

  // Fails against the current DynamoRateLimiter: a third delivery a few ms after a burst of 2 at
  // 1/s is allowed (its condition is TAT − now < burst / rate); see test/integration/dynamo-rate-limiter.test.ts.
  it('over config.webhook_rate_limit: 429 with Retry-After, and no execution for it', async () => {
    // Prepare
    const job = await createWebhookJob({
      config: { webhook_rate_limit: { requests_per_second: 1, burst: 2 } },
    });
    const body = '{"parameters": {"branch_name": "main"}}';
    const headers = { 'x-webhook-signature': hexSignature(body, job.webhook_secret) };

    // Act
    // One after another until the first 429 (at most 5): a burst of 2, so the third should be refused.
    const statuses: number[] = [];
    let limited: Response | undefined;
    while (statuses.length < 5 && limited === undefined) {
      const response = await deliver(job.webhook_path, body, headers);
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }

    // Assess
    expect(statuses).toEqual([202, 202, 429]);
    expect(limited?.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(await executionCount(job.id)).toBe(statuses.filter((status) => status === 202).length);
  });
});

describe('concurrent deliveries', () => {
  it('yield exactly one execution per delivery id', async () => {
    // Prepare
    const job = await createWebhookJob();
    const ids = Array.from({ length: 15 }, (_, index) => `msg_burst_${index}_${randomUUID()}`);
    const bodyOf = (index: number) => JSON.stringify({ parameters: { branch_name: `b${index}` } });
    const repeatedId = `msg_repeat_${randomUUID()}`;
    const repeatedBody = bodyOf(99);
    const repeatedHeaders = standardHeaders(job.webhook_secret, repeatedId, repeatedBody);

    // Act
    const burst = await Promise.all(
      ids.map((id, index) =>
        deliver(job.webhook_path, bodyOf(index), standardHeaders(job.webhook_secret, id, bodyOf(index))),
      ),
    );
    const burstResults = (await Promise.all(burst.map((response) => response.json()))) as {
      execution_id: string;
    }[];
    const repeats = await Promise.all(
      Array.from({ length: 5 }, () => deliver(job.webhook_path, repeatedBody, repeatedHeaders)),
    );
    const repeatResults = (await Promise.all(repeats.map((response) => response.json()))) as {
      execution_id: string;
    }[];
    const history = await client.jobs.getExecutions(job.id, { limit: 100 });

    // Assess
    expect(burst.map((response) => response.status)).toEqual(ids.map(() => 202));
    expect(new Set(burstResults.map((result) => result.execution_id)).size).toBe(15);
    expect(repeats.map((response) => response.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(repeatResults.map((result) => result.execution_id)).size).toBe(1);
    expect(history.total_count).toBe(16);
    const deliveryIds = history.executions.map(
      (execution) => (execution.metadata.webhook as { delivery_id: string }).delivery_id,
    );
    expect(deliveryIds.sort()).toEqual([...ids, repeatedId].sort());
  });
});
